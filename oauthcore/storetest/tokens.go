package storetest

import (
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// testExpiringSet covers the two stores that are sets of hashes or ids with
// an end time: revoked access tokens and remembered consent.
func testExpiringSet(t *testing.T, put func(key string, end time.Time) error, has func(key string) (bool, error)) {
	t.Run("unknown", func(t *testing.T) {
		got, err := has(newHash(t))
		wantBool(t, "member(unknown)", got, err, false)
	})
	t.Run("put_has", func(t *testing.T) {
		k := newHash(t)
		must(t, put(k, inAnHour()))
		got, err := has(k)
		wantBool(t, "member", got, err, true)
	})
	t.Run("expiry", func(t *testing.T) {
		k, end := newHash(t), soon()
		must(t, put(k, end))
		waitPast(end)
		got, err := has(k)
		wantBool(t, "member after expiry", got, err, false)
	})
}

func testRevokedTokens(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	testExpiringSet(t,
		func(k string, end time.Time) error { return s.RevokeToken(t.Context(), k, end) },
		func(k string) (bool, error) { return s.TokenRevoked(t.Context(), k) })
}

func testConsent(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	testExpiringSet(t,
		func(k string, end time.Time) error { return s.PutConsent(t.Context(), k, end) },
		func(k string) (bool, error) { return s.HasConsent(t.Context(), k) })
}

func newKeySet(t *testing.T, version int) *oauthcore.KeySet {
	return &oauthcore.KeySet{Version: version, Keys: []oauthcore.SigningKey{{
		ID: newSecret(t), Algorithm: "ES256", PrivateDER: []byte(newSecret(t)), CreatedAt: time.Now(),
	}}}
}

// testKeys: the key set is saved by compare-and-swap on Version, so two
// instances rotating at once cannot publish different keys.
func testKeys(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	t.Run("versions", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		_, err := s.LoadKeys(ctx)
		wantErr(t, err, oauthcore.ErrNotFound)
		steps := []struct {
			version int
			want    error
		}{
			{2, oauthcore.ErrConflict}, // nothing stored: only 1 fits
			{0, oauthcore.ErrConflict},
			{1, nil},
			{1, oauthcore.ErrConflict}, // a second "first" save
			{2, nil},
			{2, oauthcore.ErrConflict},
			{4, oauthcore.ErrConflict},
			{3, nil},
		}
		want := (*oauthcore.KeySet)(nil)
		for _, st := range steps {
			ks := newKeySet(t, st.version)
			wantErr(t, s.SaveKeys(ctx, ks), st.want)
			if st.want == nil {
				want = ks
			}
			if want != nil {
				got, err := s.LoadKeys(ctx)
				must(t, err)
				sameJSON(t, got, want)
			}
		}
	})
	t.Run("one_of_concurrent_saves_wins", func(t *testing.T) {
		s := newStore(t)
		sets := make([]*oauthcore.KeySet, racers)
		for i := range sets {
			sets[i] = newKeySet(t, 1)
		}
		errs := race(racers, func(i int) error { return s.SaveKeys(t.Context(), sets[i]) })
		w := oneWinner(t, errs, oauthcore.ErrConflict)
		got, err := s.LoadKeys(t.Context())
		must(t, err)
		sameJSON(t, got, sets[w])
	})
}
