package redisstore

import (
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// TestCheck (RD-05, RD-07): the harness's settings (noeviction, AOF) pass;
// each setting that can lose security state gets a warning.
func TestCheck(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, newClient(t, srv.Addr), Options{})
	steps := []struct {
		name string
		set  []string // CONFIG SET name value pairs, applied in order
		want string   // substring of the one warning expected; "" for none
	}{
		{"defaults", nil, ""},
		{"allkeys_lru", []string{"maxmemory-policy", "allkeys-lru"}, "can evict any key"},
		{"volatile_lru", []string{"maxmemory-policy", "volatile-lru"}, "can evict keys with a TTL"},
		{"no_persistence", []string{"maxmemory-policy", "noeviction", "appendonly", "no"}, "no persistence"},
		{"rdb_only", []string{"save", "3600 1"}, "RDB snapshots only"},
	}
	for _, st := range steps {
		for i := 0; i < len(st.set); i += 2 {
			srv.MustCLI("CONFIG", "SET", st.set[i], st.set[i+1])
		}
		warnings, err := s.Check(t.Context())
		must(t, err)
		switch {
		case st.want == "" && len(warnings) != 0:
			t.Errorf("%s: unexpected warnings %q", st.name, warnings)
		case st.want != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], st.want)):
			t.Errorf("%s: warnings %q, want one containing %q", st.name, warnings, st.want)
		}
	}
}

// TestCheckConfigDenied: a user without CONFIG (as on managed Redis) gets a
// warning that nothing could be checked, not an error.
func TestCheckConfigDenied(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.MustCLI("ACL", "SETUSER", "oauth", "on", ">s3cret", "~*", "&*", "+@all", "-config")
	rdb, err := NewClient(ClientConfig{URL: "redis://oauth:s3cret@" + srv.Addr})
	must(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, Options{})
	warnings, err := s.Check(t.Context())
	must(t, err)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "could not check") {
		t.Fatalf("warnings %q, want one saying the settings could not be checked", warnings)
	}
}

// TestCheckUnreachable: no Redis is an error, not a warning.
func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close())
	s := newStore(t, newClient(t, addr), Options{})
	if _, err := s.Check(t.Context()); err == nil {
		t.Fatal("Check of an unreachable Redis returned no error")
	}
}

// testCheckCluster: every master is checked (run by TestCluster).
func testCheckCluster(t *testing.T, nodes []*redistest.Server, rdb redis.UniversalClient) {
	s := newStore(t, rdb, Options{})
	nodes[1].MustCLI("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	warnings, err := s.Check(t.Context())
	must(t, err)
	if len(warnings) != 1 || !strings.Contains(warnings[0], nodes[1].Addr) {
		t.Fatalf("warnings %q, want one about %s", warnings, nodes[1].Addr)
	}
}

func TestOlderThan(t *testing.T) {
	for v, want := range map[string]bool{"7.0.15": false, "6.2.0": false, "6.0.16": true, "5.0.7": true, "10.0": false, "": true} {
		if got := olderThan(v, minVersion); got != want {
			t.Errorf("olderThan(%q) = %v, want %v", v, got, want)
		}
	}
}
