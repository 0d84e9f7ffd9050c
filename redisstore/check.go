package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Check reads the server settings the store's guarantees depend on and
// returns a warning for each that undermines them. It is meant for
// startup: the caller logs the warnings (or refuses to start). err is set
// when Redis cannot be reached or is too old to run the store's scripts; a
// server that refuses CONFIG or INFO (a managed Redis, or an ACL user
// without them) yields a warning saying the settings could not be checked.
// On a cluster every master is checked.
func (s *Store) Check(ctx context.Context) (warnings []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	err = s.eachMaster(ctx, func(ctx context.Context, c redis.Cmdable) error {
		w, err := s.checkNode(ctx, c)
		warnings = append(warnings, w...)
		return err
	})
	sort.Strings(warnings)
	return warnings, wrap(err)
}

// checkTimeout bounds a whole Check (on a cluster it first asks for the
// slot map); each command within has the usual CallTimeout.
const checkTimeout = 5 * time.Second

// minVersion is the oldest Redis the scripts run on: GETDEL, ZADD GT and
// ZRANGE BYSCORE came in 6.2.
var minVersion = [2]int{6, 2}

func (s *Store) checkNode(ctx context.Context, c redis.Cmdable) ([]string, error) {
	addr := nodeAddr(c)
	denied := func(what string, err error) []string {
		// Worded without "maxmemory-policy", which starts the eviction
		// warnings, so a caller can tell "unsafe" from "unknown".
		return []string{fmt.Sprintf("redis %s: could not check the server (%s: %v); make sure it runs Redis 6.2 "+
			"or later, evicts nothing (noeviction) and keeps an append-only file", addr, what, err)}
	}
	var rerr redis.Error
	version, err := s.serverVersion(ctx, c)
	if errors.As(err, &rerr) && !authError(rerr) {
		return denied("INFO server", err), nil
	}
	if err != nil {
		return nil, err
	}
	if olderThan(version, minVersion) {
		return nil, fmt.Errorf("redis %s runs Redis %s; the store needs %d.%d or later", addr, version, minVersion[0], minVersion[1])
	}
	conf := map[string]string{}
	for _, name := range []string{"maxmemory-policy", "appendonly", "save"} {
		cctx, cancel := s.call(ctx)
		v, err := c.ConfigGet(cctx, name).Result()
		cancel()
		if errors.As(err, &rerr) {
			// Redis answered, but not with the setting: CONFIG is disabled
			// or not permitted. Not an outage.
			return denied("CONFIG GET "+name, err), nil
		}
		if err != nil {
			return nil, err
		}
		conf[name] = v[name]
	}
	return configWarnings(addr, conf), nil
}

// serverVersion reads redis_version from INFO server.
func (s *Store) serverVersion(ctx context.Context, c redis.Cmdable) (string, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("INFO server has no redis_version")
}

// olderThan compares the major and minor parts of a "7.0.15" version.
func olderThan(version string, min [2]int) bool {
	parts := strings.SplitN(version, ".", 3)
	var v [2]int
	for i := range v {
		if i < len(parts) {
			v[i], _ = strconv.Atoi(parts[i])
		}
	}
	return v[0] < min[0] || (v[0] == min[0] && v[1] < min[1])
}

// configWarnings judges the settings (checklist RD-05, RD-07).
func configWarnings(addr string, conf map[string]string) []string {
	var w []string
	switch policy := conf["maxmemory-policy"]; {
	case policy == "noeviction":
	case strings.HasPrefix(policy, "volatile-"):
		// Nearly every key of this store has a TTL, so volatile-* evicts
		// exactly the security state: used-code tombstones (replay),
		// revocations, grants.
		w = append(w, fmt.Sprintf("redis %s: maxmemory-policy is %q, which can evict keys with a TTL: "+
			"used-code tombstones and revocations could vanish under memory pressure; set noeviction", addr, policy))
	default:
		w = append(w, fmt.Sprintf("redis %s: maxmemory-policy is %q, which can evict any key, registrations and "+
			"signing keys included; set noeviction", addr, policy))
	}
	switch {
	case conf["appendonly"] != "yes" && strings.TrimSpace(conf["save"]) == "":
		w = append(w, fmt.Sprintf("redis %s: no persistence (appendonly no, save \"\"): a restart loses every "+
			"registration, grant and revocation; set appendonly yes", addr))
	case conf["appendonly"] != "yes":
		w = append(w, fmt.Sprintf("redis %s: RDB snapshots only (appendonly no): a crash can lose minutes of "+
			"revocations, which then come back; set appendonly yes", addr))
	}
	return w
}

// nodeAddr names the server a warning is about.
func nodeAddr(c redis.Cmdable) string {
	if cl, ok := c.(*redis.Client); ok {
		return cl.Options().Addr
	}
	return "server"
}

// authError tells a refused login (no password, a wrong one) from a
// refused command: the store cannot work at all without the login.
func authError(err redis.Error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS")
}
