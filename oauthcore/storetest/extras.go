package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// notifyWithin is how soon a revocation must reach subscribers: the gate's
// cache drops revoked grants and tokens on this signal.
const notifyWithin = time.Second

type event struct{ kind, id string }

// recorder collects revocation events; a store may send others too.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(kind, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{kind, id})
}

func (r *recorder) wait(t *testing.T, want event) {
	t.Helper()
	for end := time.Now().Add(notifyWithin); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		seen := slices.Contains(r.events, want)
		r.mu.Unlock()
		if seen {
			return
		}
	}
	t.Fatalf("no %s revocation of %q announced within %v", want.kind, want.id, notifyWithin)
}

func testNotifier(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	rec := &recorder{}
	t.Cleanup(s.Subscribe(rec.add))
	ctx := t.Context()

	t.Run("revoke_grant", func(t *testing.T) {
		g := newGrant(t, newSecret(t), inAnHour())
		must(t, s.CreateGrant(ctx, g))
		must(t, s.RevokeGrant(ctx, g.ID))
		rec.wait(t, event{"grant", g.ID})
	})
	t.Run("revoke_token", func(t *testing.T) {
		jti := newSecret(t)
		must(t, s.RevokeToken(ctx, jti, inAnHour()))
		rec.wait(t, event{"token", jti})
	})
	t.Run("delete_client", func(t *testing.T) {
		c := newClient(t, inAnHour())
		must(t, s.CreateClient(ctx, c))
		g1, g2 := newGrant(t, c.ID, inAnHour()), newGrant(t, c.ID, inAnHour())
		must(t, s.CreateGrant(ctx, g1))
		must(t, s.CreateGrant(ctx, g2))
		must(t, s.DeleteClient(ctx, c.ID))
		rec.wait(t, event{"grant", g1.ID})
		rec.wait(t, event{"grant", g2.ID})
	})
}

// testSecretsHashed stores one record of every kind keyed or filled only
// with hashes of secrets the test knows, then searches everything the store
// keeps for those secrets (checklist CL-03, AC-07, RD-10).
func testSecretsHashed(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	d, ok := s.(Dumper)
	if !ok {
		t.Fatal("the store must implement storetest.Dumper, so the suite can prove it keeps no plain secret")
	}
	ctx := t.Context()
	var secrets []string
	hash := func() string {
		secret := newSecret(t)
		secrets = append(secrets, secret)
		return oauthcore.HashSecret(secret)
	}

	c := newClient(t, inAnHour())
	c.SecretHash, c.RegistrationTokenHash = hash(), hash()
	must(t, s.CreateClient(ctx, c))
	f := newFlow(t, inAnHour())
	f.CSRFHash, f.BrowserHash = hash(), hash()
	must(t, s.PutFlow(ctx, hash(), f))
	codeHash := hash()
	must(t, s.PutCode(ctx, codeHash, newCode(t, inAnHour())))
	g := newGrant(t, c.ID, inAnHour())
	g.RefreshHash = hash()
	must(t, s.CreateGrant(ctx, g))
	r := rotated(t, g)
	r.RefreshHash = hash()
	must(t, s.UpdateGrant(ctx, r))
	must(t, s.PutConsent(ctx, hash(), inAnHour()))

	dump, err := d.Dump()
	must(t, err)
	// The dump must really hold the records, or the search proves nothing.
	for _, known := range []string{c.ID, codeHash} {
		if !bytes.Contains(dump, []byte(known)) {
			t.Fatalf("dump (%d bytes) lacks stored value %q", len(dump), known)
		}
	}
	for _, secret := range secrets {
		if bytes.Contains(dump, []byte(secret)) {
			t.Fatalf("plain secret %q found in the store's dump", secret)
		}
	}
}
