package redisstore

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore/storetest"
)

// TestConformanceStandalone runs the store suite on one real redis-server,
// then audits what it left behind (RD-08).
func TestConformanceStandalone(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	conformance(t, newClient(t, srv.Addr))
}

// TestCluster runs on one three-master Redis Cluster (starting one takes
// seconds): the suite, where every script must keep to one slot;
// announcements between instances, which cross nodes (the publishing
// script runs on the grant's slot, each subscription sits on whichever
// node go-redis chose); and Check, which must look at every master.
func TestCluster(t *testing.T) {
	t.Parallel()
	nodes := redistest.StartCluster(t)
	addrs := redistest.Addrs(nodes)
	rdb := newClient(t, addrs...)
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("several addresses gave a %T, want a cluster client", rdb)
	}
	t.Run("parallel", func(t *testing.T) {
		t.Run("conformance", func(t *testing.T) {
			t.Parallel()
			conformance(t, rdb)
		})
		t.Run("announcements", func(t *testing.T) {
			t.Parallel()
			testAcross(t, func() redis.UniversalClient { return newClient(t, addrs...) })
		})
	})
	t.Run("check", func(t *testing.T) { testCheckCluster(t, nodes, rdb) })
}

func conformance(t *testing.T, rdb redis.UniversalClient) {
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) oauthcore.Store { return newStore(t, rdb, Options{}) })
	})
	t.Run("ttl_audit", func(t *testing.T) { auditTTLs(t, rdb) })
}
