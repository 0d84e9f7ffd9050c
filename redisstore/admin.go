package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// The admin listings SCAN (never KEYS, which blocks the server) for the
// record keys of one kind, one master at a time on a Cluster. The cursor
// is "<master>:<SCAN cursor>", masters in address order; SCAN guarantees
// that a key present for the whole listing is returned, and may return
// one twice across a resharding, which the listing does not hide.

// A page stops after maxScanRounds SCAN calls even if short, so one admin
// request stays bounded however few keys match.
const maxScanRounds = 64

// ListClients returns a page of live clients.
func (s *Store) ListClients(ctx context.Context, cursor string, limit int) ([]*oauthcore.Client, string, error) {
	return scanList(s, ctx, "{c:", "}:client", cursor, limit, s.loadClient)
}

// ListGrants returns a page of live grants.
func (s *Store) ListGrants(ctx context.Context, cursor string, limit int) ([]*oauthcore.Grant, string, error) {
	return scanList(s, ctx, "{g:", "}:grant", cursor, limit, s.GetGrant)
}

// scanList is scanPage collecting what load returns.
func scanList[T any](s *Store, ctx context.Context, open, close, cursor string, limit int,
	load func(context.Context, string) (*T, error)) ([]*T, string, error) {
	var out []*T
	next, err := s.scanPage(ctx, open, close, cursor, limit, func(id string) error {
		v, err := load(ctx, id)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	return out, next, err
}

// scanPage SCANs for the record keys between open and close after the
// prefix, from cursor, and calls load with each key's id until limit were
// loaded; records gone meanwhile (ErrNotFound) do not count. A page may
// end inside a SCAN batch: the cursor then names the batch and the last
// key taken, and the next page scans the batch again (sorted) and skips
// up to that key. A batch scanned again after the table grew holds a
// subset of the first one, and SCAN visits the rest later, so nothing
// present throughout is lost.
func (s *Store) scanPage(ctx context.Context, open, close, cursor string, limit int,
	load func(id string) error) (string, error) {
	pattern := escapeGlob(s.prefix+open) + "*" + escapeGlob(close)
	nodes, err := s.masters(ctx)
	if err != nil {
		return "", err
	}
	c, err := parseCursor(cursor, len(nodes))
	if err != nil {
		return "", err
	}
	limit, taken := max(limit, 1), 0
	for round := 0; c.node < len(nodes) && round < maxScanRounds; round++ {
		var keys []string
		var next uint64
		err := s.withCall(ctx, func(ctx context.Context) (err error) {
			keys, next, err = nodes[c.node].Scan(ctx, c.pos, pattern, int64(limit)).Result()
			return err
		})
		if err != nil {
			return "", err
		}
		slices.Sort(keys)
		for _, k := range keys {
			if c.after != "" && k <= c.after {
				continue
			}
			if taken == limit {
				return c.String(), nil // c.after is the last key taken
			}
			err := load(strings.TrimSuffix(strings.TrimPrefix(k, s.prefix+open), close))
			if err != nil && !errors.Is(err, oauthcore.ErrNotFound) {
				return "", err
			}
			if err == nil {
				taken++
			}
			c.after = k
		}
		c.pos, c.after = next, ""
		if next == 0 {
			c.node++
		}
		if taken == limit {
			break
		}
	}
	if c.node >= len(nodes) {
		return "", nil
	}
	return c.String(), nil
}

// scanCursor is where a listing stands: a master, a SCAN cursor on it,
// and the last key of that cursor's batch already taken ("" for none).
type scanCursor struct {
	node  int
	pos   uint64
	after string
}

func (c scanCursor) String() string {
	return strconv.Itoa(c.node) + ":" + strconv.FormatUint(c.pos, 10) + ":" + c.after
}

// masters are the nodes to SCAN: the one server, or a Cluster's masters
// in address order.
func (s *Store) masters(ctx context.Context) ([]redis.Cmdable, error) {
	if _, ok := s.rdb.(*redis.ClusterClient); !ok {
		return []redis.Cmdable{s.rdb}, nil
	}
	var nodes []*redis.Client
	err := s.eachMaster(ctx, func(_ context.Context, c redis.Cmdable) error {
		nodes = append(nodes, c.(*redis.Client))
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	slices.SortFunc(nodes, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	out := make([]redis.Cmdable, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out, nil
}

var errBadCursor = fmt.Errorf("redisstore: %w: the cursor is not one a listing returned", oauthcore.ErrInvalidCursor)

func parseCursor(cursor string, nodes int) (scanCursor, error) {
	if cursor == "" {
		return scanCursor{}, nil
	}
	n, rest, ok1 := strings.Cut(cursor, ":")
	p, after, ok2 := strings.Cut(rest, ":")
	node, err1 := strconv.Atoi(n)
	pos, err2 := strconv.ParseUint(p, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || node < 0 || node >= nodes {
		return scanCursor{}, errBadCursor
	}
	return scanCursor{node: node, pos: pos, after: after}, nil
}

// escapeGlob escapes SCAN MATCH's special characters (a key prefix may
// hold them).
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
