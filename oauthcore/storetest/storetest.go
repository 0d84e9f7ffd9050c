package storetest

import (
	"context"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// Dumper is implemented by stores that can hand over every byte they keep
// (a database file, every Redis key and value). The suite stores records
// whose secrets it knows, only as hashes, and then searches the dump for the
// plain secrets.
type Dumper interface {
	Dump() ([]byte, error)
}

// Run runs the suite. newStore must return an empty store, cleaned up
// through t (t.Cleanup); it is called once per group of subtests, and the
// groups run in parallel, so the wall time is about one group's (~1 s).
func Run(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	groups := []struct {
		name string
		run  func(t *testing.T, newStore func(t *testing.T) oauthcore.Store)
	}{
		{"clients", testClients},
		{"client_expiry", testClientExpiry},
		{"flows", testFlows},
		{"codes", testCodes},
		{"grants", testGrants},
		{"grant_rotation", testGrantRotation},
		{"revoked_tokens", testRevokedTokens},
		{"consent", testConsent},
		{"documents", testDocuments},
		{"keys", testKeys},
		{"notifier", testNotifier},
		{"secrets_hashed", testSecretsHashed},
		{"admin_listings", testAdmin},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, newStore)
		})
	}
}

// GrantReader is what the suite needs besides oauthcore.Store to look at a
// grant directly; the server itself never reads a grant by id.
type GrantReader interface {
	GetGrant(ctx context.Context, id string) (*oauthcore.Grant, error)
}

func getGrant(t *testing.T, s oauthcore.Store, ctx context.Context, id string) (*oauthcore.Grant, error) {
	t.Helper()
	gr, ok := s.(GrantReader)
	if !ok {
		t.Fatalf("%T has no GetGrant: the conformance suite reads grants by id", s)
	}
	return gr.GetGrant(ctx, id)
}
