package redisstore

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/portlease"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// TestDiagnose: each way of not reaching Redis is named with the address
// and its kind, never as a bare "context deadline exceeded".
func TestDiagnose(t *testing.T) {
	t.Parallel()
	secret := redistest.Start(t, "--requirepass", "s3cret")
	paused := redistest.Start(t)
	paused.Pause()
	t.Cleanup(paused.Resume)
	closed := closedAddr(t)
	for _, tc := range []struct {
		name string
		cfg  ClientConfig
		want string
	}{
		{"refused", ClientConfig{URL: "redis://" + closed}, "redis " + closed + ": connection refused"},
		{"no such host", ClientConfig{URL: "redis://no-such-host.invalid:6379"}, "redis no-such-host.invalid:6379: no such host"},
		{"wrong password", ClientConfig{URL: "redis://:wrong@" + secret.Addr}, "redis " + secret.Addr + ": WRONGPASS"},
		{"no password", ClientConfig{URL: "redis://" + secret.Addr}, "redis " + secret.Addr + ": NOAUTH"},
		{"paused", ClientConfig{URL: "redis://" + paused.Addr}, "redis " + paused.Addr + ": timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Diagnose(context.Background(), tc.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Diagnose: %v, want it to start with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), ":wrong@") {
				t.Errorf("the password is in the message: %v", err)
			}
		})
	}
	if err := Diagnose(context.Background(), ClientConfig{URL: "redis://:s3cret@" + secret.Addr}); err != nil {
		t.Errorf("a reachable server: %v", err)
	}
}

// closedAddr is a loopback address this test leased and nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	port := portlease.TakeForTest(t, 20000, 32000)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
