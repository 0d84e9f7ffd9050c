package storetest

import (
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// Codes are single use (OAuth 2.1 §4.1.3): after the one successful
// ConsumeCode every read answers ErrCodeUsed with the tombstone, whose
// GrantID lets a replay revoke what the code produced.

func testCodes(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()

	t.Run("put_peek", func(t *testing.T) {
		h, c := newHash(t), newCode(t, inAnHour())
		must(t, s.PutCode(ctx, h, c))
		for range 2 { // PeekCode does not consume
			got, err := s.PeekCode(ctx, h)
			must(t, err)
			sameJSON(t, got, c)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		h := newHash(t)
		_, err := s.PeekCode(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
		_, err = s.ConsumeCode(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
		wantErr(t, s.SetCodeGrant(ctx, h, newSecret(t)), oauthcore.ErrNotFound)
	})
	t.Run("consume_then_tombstone", func(t *testing.T) { testTombstone(t, s) })
	t.Run("consume_once_concurrently", func(t *testing.T) {
		h, c := newHash(t), newCode(t, inAnHour())
		must(t, s.PutCode(ctx, h, c))
		got := make([]*oauthcore.AuthCode, racers)
		errs := race(racers, func(i int) (err error) {
			got[i], err = s.ConsumeCode(ctx, h)
			return err
		})
		w := oneWinner(t, errs, oauthcore.ErrCodeUsed)
		sameJSON(t, got[w].Request, c.Request)
		for i, tomb := range got {
			if i != w && (tomb == nil || !tomb.Used) {
				t.Fatalf("caller %d got ErrCodeUsed with tombstone %+v", i, tomb)
			}
		}
	})
	t.Run("expiry", func(t *testing.T) {
		fresh, used := newHash(t), newHash(t)
		c := newCode(t, soon())
		must(t, s.PutCode(ctx, fresh, c))
		must(t, s.PutCode(ctx, used, c))
		_, err := s.ConsumeCode(ctx, used)
		must(t, err)
		waitPast(c.ExpiresAt)
		for _, h := range []string{fresh, used} {
			_, err := s.PeekCode(ctx, h)
			wantErr(t, err, oauthcore.ErrNotFound)
			_, err = s.ConsumeCode(ctx, h)
			wantErr(t, err, oauthcore.ErrNotFound)
		}
	})
}

func testTombstone(t *testing.T, s oauthcore.Store) {
	ctx := t.Context()
	h, c := newHash(t), newCode(t, inAnHour())
	must(t, s.PutCode(ctx, h, c))
	got, err := s.ConsumeCode(ctx, h)
	must(t, err)
	sameJSON(t, got.Request, c.Request)
	sameJSON(t, got.User, c.User)

	_, err = s.PeekCode(ctx, h)
	wantErr(t, err, oauthcore.ErrCodeUsed)
	tomb, err := s.ConsumeCode(ctx, h)
	wantErr(t, err, oauthcore.ErrCodeUsed)
	if tomb == nil || !tomb.Used || tomb.GrantID != "" {
		t.Fatalf("tombstone before SetCodeGrant = %+v, want Used and no GrantID", tomb)
	}

	grantID := newSecret(t)
	must(t, s.SetCodeGrant(ctx, h, grantID))
	tomb, err = s.ConsumeCode(ctx, h)
	wantErr(t, err, oauthcore.ErrCodeUsed)
	if tomb == nil || !tomb.Used || tomb.GrantID != grantID {
		t.Fatalf("tombstone = %+v, want Used and GrantID %q", tomb, grantID)
	}
	sameJSON(t, tomb.User, c.User)
	_, err = s.PeekCode(ctx, h)
	wantErr(t, err, oauthcore.ErrCodeUsed)
}
