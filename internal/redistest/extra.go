package redistest

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// StartTLS starts a standalone server that speaks only TLS, with the given
// PEM certificate and key (clients are not asked for certificates).
func StartTLS(t testing.TB, certFile, keyFile string) *Server {
	t.Helper()
	Require(t)
	return startNew(t, false, func(port int, dir string) (*Server, error) {
		args := []string{
			"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--tls-cert-file", certFile, "--tls-key-file", keyFile,
			"--tls-ca-cert-file", certFile, "--tls-auth-clients", "no",
			"--save", "", "--appendonly", "yes", "--dir", dir,
			"--logfile", filepath.Join(dir, "redis.log"),
		}
		return &Server{Addr: loopback(port), Dir: dir, bin: "redis-server", args: args,
			tls: &tls.Config{InsecureSkipVerify: true}}, nil // the server's throwaway self-signed certificate
	})
}

// StartSentinel starts a Sentinel that monitors master under name (quorum
// 1). Sentinel needs a writable config file; it lives in a temp dir.
func StartSentinel(t testing.TB, master *Server, name string) *Server {
	t.Helper()
	Require(t)
	host, mport := master.hostPort()
	return startNew(t, false, func(port int, dir string) (*Server, error) {
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor %s %s %s 1\n",
			port, dir, filepath.Join(dir, "redis.log"), name, host, mport)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, err
		}
		return &Server{Addr: loopback(port), Dir: dir, bin: "redis-server", args: []string{conf, "--sentinel"}}, nil
	})
}
