package boltstore

import (
	"bytes"
	"context"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// The admin listings walk a bucket in key order; the cursor is the last
// key of the page before, so a page is one read transaction and a listing
// survives writes between pages.

// ListClients returns a page of live clients.
func (s *Store) ListClients(ctx context.Context, cursor string, limit int) ([]*oauthcore.Client, string, error) {
	return listLive(s, ctx, bClients, cursor, limit, s.loadClient)
}

// ListGrants returns a page of live grants.
func (s *Store) ListGrants(ctx context.Context, cursor string, limit int) ([]*oauthcore.Grant, string, error) {
	return listLive(s, ctx, bGrants, cursor, limit, s.loadGrant)
}

// listLive pages through bucket, keeping the records load finds live.
func listLive[T any](s *Store, ctx context.Context, bucket []byte, cursor string, limit int,
	load func(*bolt.Tx, string, *T) error) ([]*T, string, error) {
	var out []*T
	next, err := s.page(ctx, bucket, cursor, limit, func(tx *bolt.Tx, id string) bool {
		var v T
		if load(tx, id, &v) != nil {
			return false
		}
		out = append(out, &v)
		return true
	})
	return out, next, err
}

// page calls take for the keys of bucket after cursor until limit of them
// were taken; next is the last key looked at, "" at the end.
func (s *Store) page(ctx context.Context, bucket []byte, cursor string, limit int, take func(*bolt.Tx, string) bool) (string, error) {
	next, limit := "", max(limit, 1)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		k, _ := c.First()
		if cursor != "" {
			k, _ = c.Seek([]byte(cursor))
			if k != nil && bytes.Equal(k, []byte(cursor)) {
				k, _ = c.Next()
			}
		}
		taken := 0
		for ; k != nil; k, _ = c.Next() {
			if taken == limit {
				return nil
			}
			if take(tx, string(k)) {
				taken++
			}
			next = string(k)
		}
		next = ""
		return nil
	})
	return next, err
}
