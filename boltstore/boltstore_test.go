package boltstore

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore/storetest"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Interface guards: the suite tests the optional abilities only if present.
var (
	_ oauthcore.Store              = (*Store)(nil)
	_ oauthcore.RevocationNotifier = (*Store)(nil)
	_ storetest.Dumper             = (*Store)(nil)
)

func open(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "oauth.db") }

// TestConformance runs the suite twice: once as a server would run, once
// with the sweeper deleting concurrently, which must never remove anything
// the suite still reads as live.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"sweeping", Options{SweepInterval: 5 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) oauthcore.Store { return open(t, tempPath(t), tc.opts) })
		})
	}
}

func TestBadIDs(t *testing.T) {
	s := open(t, tempPath(t), Options{})
	hour := time.Now().Add(time.Hour)
	for _, id := range []string{"", "a\x00b"} {
		if err := s.CreateClient(t.Context(), &oauthcore.Client{ID: id}); err == nil {
			t.Errorf("CreateClient(%q) succeeded", id)
		}
		if err := s.CreateGrant(t.Context(), &oauthcore.Grant{ID: "g", ClientID: id, ExpiresAt: hour}); err == nil {
			t.Errorf("CreateGrant with client %q succeeded", id)
		}
	}
}

// TestRestart: what was committed is there after the file is reopened, the
// security state (tombstones, revocations, versions) included.
func TestRestart(t *testing.T) {
	ctx, path, hour := t.Context(), tempPath(t), time.Now().Add(time.Hour)
	s := open(t, path, Options{})
	c := &oauthcore.Client{ID: "client-1", ExpiresAt: hour, Version: 3}
	g := &oauthcore.Grant{ID: "grant-1", ClientID: c.ID, ExpiresAt: hour, RefreshHash: "rt-1", Version: 1}
	mustDo(t, s.CreateClient(ctx, c), s.CreateGrant(ctx, g),
		s.PutCode(ctx, "code-1", &oauthcore.AuthCode{ExpiresAt: hour}),
		s.RevokeToken(ctx, "jti-1", hour), s.SaveKeys(ctx, &oauthcore.KeySet{Version: 1}))
	_, err := s.ConsumeCode(ctx, "code-1")
	mustDo(t, err, s.Close())

	s = open(t, path, Options{})
	got, err := s.GetClient(ctx, c.ID)
	mustDo(t, err)
	if got.Version != 3 {
		t.Errorf("client version = %d, want 3", got.Version)
	}
	if gg, err := s.GrantByRefresh(ctx, "rt-1"); err != nil || gg.ID != g.ID {
		t.Errorf("GrantByRefresh after restart = %v, %v", gg, err)
	}
	if _, err := s.ConsumeCode(ctx, "code-1"); err != oauthcore.ErrCodeUsed {
		t.Errorf("ConsumeCode after restart = %v, want ErrCodeUsed", err)
	}
	if ok, err := s.TokenRevoked(ctx, "jti-1"); !ok || err != nil {
		t.Errorf("TokenRevoked after restart = %v, %v", ok, err)
	}
	if ks, err := s.LoadKeys(ctx); err != nil || ks.Version != 1 {
		t.Errorf("LoadKeys after restart = %v, %v", ks, err)
	}
}

func mustDo(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenLocked: a file another handle holds fails after the timeout
// instead of blocking provisioning forever.
func TestOpenLocked(t *testing.T) {
	defer func(d time.Duration) { openTimeout = d }(openTimeout)
	openTimeout = 100 * time.Millisecond
	path := tempPath(t)
	open(t, path, Options{})
	s, err := Open(path, Options{})
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Fatalf("second Open: %v, want a lock timeout", err)
	}
	if !strings.HasPrefix(err.Error(), "boltstore: "+path+" is locked by another process") {
		t.Errorf("second Open: %v, want it to name the file and the lock", err)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(tempPath(t), Options{SweepInterval: time.Millisecond})
	mustDo(t, err, s.Close(), s.Close())
}

func TestSubscribeCancel(t *testing.T) {
	s := open(t, tempPath(t), Options{})
	var calls int
	cancel := s.Subscribe(func(string, string) { calls++ })
	mustDo(t, s.RevokeToken(t.Context(), "a", time.Now().Add(time.Hour)))
	cancel()
	mustDo(t, s.RevokeToken(t.Context(), "b", time.Now().Add(time.Hour)))
	if calls != 1 {
		t.Fatalf("callback ran %d times, want 1 (once before cancel)", calls)
	}
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func keyCount(t *testing.T, s *Store, bucket []byte) int {
	t.Helper()
	var n int
	mustDo(t, s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	}))
	return n
}

// TestTombstoneNeverShortens: revoking again, or revoking an unknown id,
// never cuts a revocation short.
func TestTombstoneNeverShortens(t *testing.T) {
	ctx := t.Context()
	clk := &clock{t: time.Now()}
	s := open(t, tempPath(t), Options{Now: clk.Now})
	g := &oauthcore.Grant{ID: "g", ClientID: "c", ExpiresAt: clk.Now().Add(48 * time.Hour), RefreshHash: "rt", Version: 1}
	mustDo(t, s.CreateGrant(ctx, g), s.RevokeGrant(ctx, g.ID), s.RevokeGrant(ctx, g.ID))
	clk.Add(24 * time.Hour) // past unknownRevocationTTL, before the grant's end
	if err := s.CreateGrant(ctx, g); !errors.Is(err, oauthcore.ErrConflict) {
		t.Fatalf("CreateGrant of a revoked id = %v, want ErrConflict", err)
	}
	clk.Add(25 * time.Hour)
	if keyCount(t, s, bRevokedGrants) != 1 {
		t.Fatal("tombstone missing before the sweep")
	}
	mustDo(t, s.Sweep())
	if keyCount(t, s, bRevokedGrants) != 0 {
		t.Fatal("tombstone kept past the grant's end")
	}
}

// TestPutCodeOnce: a code hash is never stored twice; overwriting the
// tombstone would let the code be redeemed again.
func TestPutCodeOnce(t *testing.T) {
	ctx := t.Context()
	s := open(t, tempPath(t), Options{})
	c := &oauthcore.AuthCode{ExpiresAt: time.Now().Add(time.Hour)}
	mustDo(t, s.PutCode(ctx, "h", c))
	_, err := s.ConsumeCode(ctx, "h")
	mustDo(t, err)
	if err := s.PutCode(ctx, "h", c); !errors.Is(err, oauthcore.ErrConflict) {
		t.Fatalf("PutCode over a tombstone = %v, want ErrConflict", err)
	}
}
