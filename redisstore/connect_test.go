package redisstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func TestUniversalOptions(t *testing.T) {
	cases := []struct {
		name    string
		cfg     ClientConfig
		addrs   []string
		user    string
		pass    string
		db      int
		tls     bool
		wantErr bool
	}{
		{name: "url", cfg: ClientConfig{URL: "redis://u:p@10.0.0.1:6380/2"},
			addrs: []string{"10.0.0.1:6380"}, user: "u", pass: "p", db: 2},
		{name: "rediss", cfg: ClientConfig{URL: "rediss://:p@h:6379"}, addrs: []string{"h:6379"}, pass: "p", tls: true},
		{name: "fields_override_url", cfg: ClientConfig{URL: "redis://u:p@h:1/2", Username: "v", Password: "q", DB: 3},
			addrs: []string{"h:1"}, user: "v", pass: "q", db: 3},
		{name: "addrs_tls", cfg: ClientConfig{Addrs: []string{"a:1", "b:2"}, TLS: true}, addrs: []string{"a:1", "b:2"}, tls: true},
		{name: "url_and_addrs", cfg: ClientConfig{URL: "redis://h:1", Addrs: []string{"a:1"}}, wantErr: true},
		{name: "nothing", cfg: ClientConfig{}, wantErr: true},
		{name: "bad_url", cfg: ClientConfig{URL: "http://h:1"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := universalOptions(tc.cfg)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			must(t, err)
			if !reflect.DeepEqual(o.Addrs, tc.addrs) || o.Username != tc.user || o.Password != tc.pass ||
				o.DB != tc.db || (o.TLSConfig != nil) != tc.tls || !o.ContextTimeoutEnabled {
				t.Fatalf("options %+v", o)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = plain.Close() })
	if _, err := New(plain, Options{}); err == nil {
		t.Error("New accepted a client that ignores context deadlines")
	}
	ok := newClient(t, "127.0.0.1:1")
	if _, err := New(ok, Options{Prefix: "a{b}:"}); err == nil {
		t.Error("New accepted a prefix with a hash tag")
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New accepted a nil client")
	}
}

// roundTrip proves a client reaches a working server through a Store.
func roundTrip(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	s := newStore(t, rdb, Options{})
	c := &oauthcore.Client{ID: "c", Version: 1}
	must(t, s.CreateClient(t.Context(), c))
	if _, err := s.GetClient(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "subscribed", s.NotifierLive)
}

// TestTLS: rediss:// reaches a TLS-only server.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, key := selfSigned(t)
	srv := redistest.StartTLS(t, cert, key)
	rdb, err := NewClient(ClientConfig{URL: "rediss://" + srv.Addr, InsecureSkipVerify: true})
	must(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	roundTrip(t, rdb)
}

// TestSentinel: MasterName asks the Sentinel for the master.
func TestSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "oauth")
	rdb, err := NewClient(ClientConfig{Addrs: []string{sentinel.Addr}, MasterName: "oauth"})
	must(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	roundTrip(t, rdb)
	if n, err := master.CLI("DBSIZE"); err != nil || n == "0" {
		t.Fatalf("the master holds no keys (DBSIZE %q, %v): the client wrote elsewhere", n, err)
	}
}

// selfSigned writes a throwaway certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}
