package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// dumpTimeout bounds a whole Dump; it is a test tool, not a request path.
const dumpTimeout = 10 * time.Second

// Dump returns every key under the prefix with its value in readable form
// (storetest.Dumper), so a test can prove no plain secret was stored. It
// SCANs the keyspace, on every master of a cluster: test use only, never
// on a request path (checklist RD-09).
func (s *Store) Dump() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dumpTimeout)
	defer cancel()
	var lines []string
	err := s.eachMaster(ctx, func(ctx context.Context, c redis.Cmdable) error {
		keys, err := scanKeys(ctx, c, s.prefix+"*")
		if err != nil {
			return err
		}
		for _, k := range keys {
			v, err := dumpValue(ctx, c, k)
			if err != nil {
				return err
			}
			lines = append(lines, k+"\t"+v+"\n")
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	sort.Strings(lines)
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
	}
	return buf.Bytes(), nil
}

// eachMaster runs fn on every master of a cluster, or on the one server.
// fn runs on one master at a time.
func (s *Store) eachMaster(ctx context.Context, fn func(ctx context.Context, c redis.Cmdable) error) error {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return fn(ctx, s.rdb)
	}
	var mu sync.Mutex // ForEachMaster calls in parallel
	return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(ctx, c)
	})
}

// scanKeys lists the keys matching pattern with SCAN.
func scanKeys(ctx context.Context, c redis.Cmdable, pattern string) ([]string, error) {
	var out []string
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	return out, iter.Err()
}

// dumpValue renders a key's value whatever its type.
func dumpValue(ctx context.Context, c redis.Cmdable, key string) (string, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return "", err
	}
	var v any
	switch typ {
	case "string":
		v, err = c.Get(ctx, key).Result()
	case "hash":
		v, err = c.HGetAll(ctx, key).Result()
	case "zset":
		v, err = c.ZRangeWithScores(ctx, key, 0, -1).Result()
	case "set":
		v, err = c.SMembers(ctx, key).Result()
	case "none": // expired between SCAN and TYPE
		return "", nil
	default:
		return "", fmt.Errorf("key %s has unexpected type %s", key, typ)
	}
	if err != nil && err != redis.Nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}
