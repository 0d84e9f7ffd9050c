package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// diagnoseTimeout bounds the probe of one address: longer than a call's
// deadline, so a slow but working server is not reported as down.
const diagnoseTimeout = 3 * time.Second

// Diagnose says why Redis cannot be reached, in terms a person can act
// on: it connects to each configured address on its own (no retries, no
// pool) and returns the first failure as "redis <addr>: <kind>: <what to
// check>", the kind being one of connection refused, no such host,
// timeout, WRONGPASS, NOAUTH, TLS or closed connection. It is for
// startup, after a Check or a call failed with only "context deadline
// exceeded"; nil means every address answered PING.
func Diagnose(ctx context.Context, cfg ClientConfig) error {
	o, err := universalOptions(cfg)
	if err != nil {
		return err
	}
	for _, addr := range o.Addrs {
		if err := probe(ctx, o, addr); err != nil {
			return fmt.Errorf("redis %s: %s", addr, explain(err, o.DialTimeout))
		}
	}
	return nil
}

// probe dials addr and sends PING, authenticating as the store would
// (Sentinels are only dialled: they have their own credentials).
func probe(ctx context.Context, o *redis.UniversalOptions, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, diagnoseTimeout)
	defer cancel()
	conn, err := (&net.Dialer{Timeout: o.DialTimeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	_ = conn.Close()
	if o.MasterName != "" {
		return nil
	}
	c := redis.NewClient(&redis.Options{Addr: addr, Username: o.Username, Password: o.Password,
		TLSConfig: tlsFor(o.TLSConfig, addr), DialTimeout: o.DialTimeout, ReadTimeout: diagnoseTimeout,
		MaxRetries: -1, PoolSize: 1, ContextTimeoutEnabled: true})
	defer c.Close()
	return c.Ping(ctx).Err()
}

func tlsFor(base *tls.Config, addr string) *tls.Config {
	if base == nil {
		return nil
	}
	c := base.Clone()
	c.ServerName, _, _ = net.SplitHostPort(addr)
	return c
}

// explain names the kind of failure and what to check.
func explain(err error, dial time.Duration) string {
	var dnsErr *net.DNSError
	var rerr redis.Error
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens there; is redis-server running, on this host and port?"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host: the host name does not resolve; check the spelling in the url or addresses"
	case errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "WRONGPASS"):
		return "WRONGPASS: Redis refused the username or password; check password (and username) in the storage config"
	case errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOAUTH"):
		return "NOAUTH: Redis requires a password; set password in the storage config or redis://:password@host in the url"
	case errors.As(err, &certErr), errors.As(err, &recErr):
		return "TLS handshake failed (" + err.Error() + "); does the server speak TLS (rediss://) and is its certificate trusted?"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "the server closed the connection: it may want TLS (use rediss://) or refuse this client"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Sprintf("timeout: no answer within %v (dial_timeout %v); a firewall, the wrong port, or a server that is stuck", diagnoseTimeout, dial)
	case errors.As(err, &rerr):
		return "Redis refused: " + rerr.Error()
	}
	return err.Error()
}
