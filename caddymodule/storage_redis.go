package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	"github.com/mcpoauth/caddy-mcp-oauth/redisstore"
)

func init() {
	caddy.RegisterModule(RedisStorage{})
}

// redisPool shares one client and store per connection identity across
// config reloads: Caddy provisions the new config before it cleans up the
// old one, and a reload must not open a second connection pool.
var redisPool = caddy.NewUsagePool()

// redisLog sends go-redis's own messages (dial errors, pool trouble) to
// Caddy's log instead of stderr. go-redis has one global logger.
var redisLog sync.Once

type zapRedisLogger struct{ l *zap.Logger }

func (z zapRedisLogger) Printf(_ context.Context, format string, v ...any) {
	z.l.Warn(fmt.Sprintf(format, v...))
}

// RedisStorage keeps all state in Redis (standalone, Sentinel or Cluster),
// so several Caddy instances behind a load balancer act as one
// authorization server: any step of a flow may land on any instance, and
// revocations reach every instance's gate at once through pub/sub.
type RedisStorage struct {
	// URL of the server: redis://[user:password@]host:port[/db], or
	// rediss:// for TLS. Use it or Addresses.
	URL string `json:"url,omitempty"`

	// Addresses (host:port) of Redis Cluster seed nodes, or, with
	// MasterName, of Sentinels.
	Addresses []string `json:"addresses,omitempty"`

	// MasterName selects Sentinel: the name of the monitored master.
	MasterName string `json:"master_name,omitempty"`

	// Username and Password authenticate (Redis ACL user, or AUTH); they
	// override the URL's. Use {env.REDIS_PASSWORD}.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// DB is the database number (standalone and Sentinel). Default: 0, or
	// the URL's.
	DB string `json:"db,omitempty"`

	// TLS turns on TLS (implied by rediss://).
	TLS bool `json:"tls,omitempty"`

	// TLSInsecureSkipVerify skips certificate checks. For tests with
	// self-signed certificates only.
	TLSInsecureSkipVerify bool `json:"tls_insecure_skip_verify,omitempty"`

	// KeyPrefix starts every key and the revocation channel, so several
	// issuers can share one Redis. Default: mcpoauth:.
	KeyPrefix string `json:"key_prefix,omitempty"`

	// PoolSize is the connection pool size per node. Default: go-redis's.
	PoolSize string `json:"pool_size,omitempty"`

	// Timeout bounds every Redis call; past it the request fails with 503
	// instead of hanging. Default: 300ms.
	Timeout string `json:"timeout,omitempty"`

	// DialTimeout bounds connecting. Default: 1s.
	DialTimeout string `json:"dial_timeout,omitempty"`

	// UnsafeConfig says what to do when Redis is configured so that it can
	// lose security state: any maxmemory-policy but noeviction (allkeys-*
	// evicts clients and keys, volatile-* evicts revocations, grants and
	// tombstones, which all have TTLs). "warn" (default) logs it, "refuse"
	// fails the config load. Weak persistence (none, or RDB snapshots
	// only) is always only warned about.
	UnsafeConfig string `json:"unsafe_config,omitempty"`

	key   string
	store *redisstore.Store
}

// CaddyModule returns the Caddy module information.
func (RedisStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "mcp_oauth.storage.redis", New: func() caddy.Module { return new(RedisStorage) }}
}

type redisConn struct {
	client redis.UniversalClient
	store  *redisstore.Store
}

func (c redisConn) Destruct() error {
	_ = c.store.Close()
	return c.client.Close()
}

// Provision connects (or reuses a connection), then checks how Redis is
// configured.
func (rs *RedisStorage) Provision(ctx caddy.Context) error {
	if err := rs.Validate(); err != nil {
		return err // before dialling anything
	}
	cfg, opts, err := rs.config()
	if err != nil {
		return err
	}
	logger := ctx.Logger()
	redisLog.Do(func() { redis.SetLogger(zapRedisLogger{caddy.Log().Named("redis")}) })
	key := poolKey(cfg, opts)
	val, loaded, err := redisPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		client, err := redisstore.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		st, err := redisstore.New(client, opts)
		if err != nil {
			_ = client.Close()
			return nil, err
		}
		return redisConn{client: client, store: st}, nil
	})
	if err != nil {
		return fmt.Errorf("redis storage: %w", err)
	}
	rs.key, rs.store = key, val.(redisConn).store
	if loaded {
		return nil // checked when it was opened
	}
	return rs.check(ctx, logger, cfg)
}

// check warns, or refuses, when Redis can lose security state (RD-05,
// RD-07). A Redis that cannot be reached fails the load: nothing is ever
// served from process memory instead (RD-04).
func (rs *RedisStorage) check(ctx caddy.Context, logger *zap.Logger, cfg redisstore.ClientConfig) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	warnings, err := rs.store.Check(cctx)
	if err != nil {
		_ = rs.Cleanup()
		// A call's deadline hides why (refused, no such host, a wrong
		// password): probe once more, without retries, to say so.
		if why := redisstore.Diagnose(ctx, cfg); why != nil {
			return fmt.Errorf("redis storage: cannot reach Redis: %w", why)
		}
		return fmt.Errorf("redis storage: cannot reach Redis: %w", err)
	}
	for _, w := range warnings {
		if rs.UnsafeConfig == "refuse" && strings.Contains(w, "maxmemory-policy") {
			_ = rs.Cleanup()
			return fmt.Errorf("redis storage: %s (unsafe_config is refuse)", w)
		}
		logger.Warn("redis configuration can lose security state", zap.String("warning", w))
	}
	return nil
}

// config resolves placeholders and builds the client and store settings.
func (rs *RedisStorage) config() (redisstore.ClientConfig, redisstore.Options, error) {
	repl := caddy.NewReplacer()
	s := func(v string) string { return strings.TrimSpace(repl.ReplaceKnown(v, "")) }
	cfg := redisstore.ClientConfig{URL: s(rs.URL), Addrs: splitList(repl, rs.Addresses), MasterName: s(rs.MasterName),
		Username: s(rs.Username), Password: s(rs.Password), TLS: rs.TLS, InsecureSkipVerify: rs.TLSInsecureSkipVerify}
	opts := redisstore.Options{Prefix: s(rs.KeyPrefix)}
	var err error
	if cfg.DB, err = atoiOr(s(rs.DB), "db"); err != nil {
		return cfg, opts, err
	}
	if cfg.PoolSize, err = atoiOr(s(rs.PoolSize), "pool_size"); err != nil {
		return cfg, opts, err
	}
	if opts.CallTimeout, err = parseDuration(s(rs.Timeout)); err != nil {
		return cfg, opts, fmt.Errorf("redis storage: timeout: %v", err)
	}
	if cfg.DialTimeout, err = parseDuration(s(rs.DialTimeout)); err != nil {
		return cfg, opts, fmt.Errorf("redis storage: dial_timeout: %v", err)
	}
	return cfg, opts, nil
}

// Validate checks the options.
func (rs *RedisStorage) Validate() error {
	if rs.URL == "" && len(rs.Addresses) == 0 {
		return fmt.Errorf("redis storage: set a url (redis://host:6379) or addresses")
	}
	if rs.URL != "" && len(rs.Addresses) > 0 {
		return fmt.Errorf("redis storage: set url or addresses, not both")
	}
	switch rs.UnsafeConfig {
	case "", "warn", "refuse":
	default:
		return fmt.Errorf("redis storage: unsafe_config must be warn or refuse, not %q", rs.UnsafeConfig)
	}
	if strings.ContainsAny(rs.KeyPrefix, "{}") {
		return fmt.Errorf("redis storage: key_prefix must not contain { or } (hash tags follow it)")
	}
	return nil
}

func atoiOr(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("redis storage: %s %q must be a non-negative number", name, v)
	}
	return n, nil
}

// poolKey identifies a connection without the password in clear: a hash of
// the whole configuration (a new password is a new connection).
func poolKey(cfg redisstore.ClientConfig, opts redisstore.Options) string {
	raw, _ := json.Marshal(struct {
		C redisstore.ClientConfig
		P string
		T time.Duration
	}{cfg, opts.Prefix, opts.CallTimeout})
	sum := sha256.Sum256(raw)
	return "redis:" + hex.EncodeToString(sum[:])
}

// Store returns the store.
func (rs *RedisStorage) Store() oauthcore.Store { return rs.store }

// Cleanup releases this config's reference to the connection.
func (rs *RedisStorage) Cleanup() error {
	if rs.key == "" {
		return nil
	}
	_, err := redisPool.Delete(rs.key)
	rs.key = ""
	return err
}

// Interface guards
var (
	_ caddy.Provisioner  = (*RedisStorage)(nil)
	_ caddy.Validator    = (*RedisStorage)(nil)
	_ caddy.CleanerUpper = (*RedisStorage)(nil)
	_ StoreProvider      = (*RedisStorage)(nil)
)
