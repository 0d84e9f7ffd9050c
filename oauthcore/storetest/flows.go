package storetest

import (
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func testFlows(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()

	t.Run("put_get_take", func(t *testing.T) {
		h, f := newHash(t), newFlow(t, inAnHour())
		must(t, s.PutFlow(ctx, h, f))
		for range 2 { // GetFlow does not consume
			got, err := s.GetFlow(ctx, h)
			must(t, err)
			sameJSON(t, got, f)
		}
		got, err := s.TakeFlow(ctx, h)
		must(t, err)
		sameJSON(t, got, f)
		_, err = s.GetFlow(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
		_, err = s.TakeFlow(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
	})
	t.Run("unknown", func(t *testing.T) {
		h := newHash(t)
		_, err := s.GetFlow(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
		_, err = s.TakeFlow(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
	})
	t.Run("take_once_concurrently", func(t *testing.T) {
		h, f := newHash(t), newFlow(t, inAnHour())
		must(t, s.PutFlow(ctx, h, f))
		got := make([]*oauthcore.Flow, racers)
		errs := race(racers, func(i int) (err error) {
			got[i], err = s.TakeFlow(ctx, h)
			return err
		})
		sameJSON(t, got[oneWinner(t, errs, oauthcore.ErrNotFound)], f)
	})
	t.Run("expiry", func(t *testing.T) {
		h, f := newHash(t), newFlow(t, soon())
		must(t, s.PutFlow(ctx, h, f))
		waitPast(f.ExpiresAt)
		_, err := s.GetFlow(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
		_, err = s.TakeFlow(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
	})
}
