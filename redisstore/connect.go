package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientConfig says how to reach Redis. Either URL or Addrs names the
// server(s); the other fields override what the URL says.
type ClientConfig struct {
	// URL is redis://[user:password@]host:port[/db], or rediss:// for TLS.
	URL string
	// Addrs lists host:port addresses: one is a standalone server, several
	// are Redis Cluster seed nodes, and with MasterName they are Sentinels.
	Addrs []string
	// MasterName selects Sentinel: the name of the monitored master.
	MasterName string
	// Username and Password authenticate (Redis ACL user, or AUTH).
	Username string
	Password string
	// DB selects the database of a standalone or Sentinel server.
	DB int
	// TLS turns on TLS (implied by rediss://). InsecureSkipVerify skips
	// certificate checks: for tests with self-signed certificates only.
	TLS                bool
	InsecureSkipVerify bool
	// PoolSize is the connection pool size per node. Default: go-redis's
	// (10 per CPU).
	PoolSize int
	// DialTimeout, ReadTimeout and WriteTimeout bound the socket
	// operations. Calls are bounded by the Store's CallTimeout anyway;
	// these matter for the pub/sub connection and dials. Defaults: 1s,
	// 3s, 3s.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
}

const (
	defaultDialTimeout = time.Second
	defaultIOTimeout   = 3 * time.Second
)

// NewClient builds the client New expects: standalone for one address,
// Sentinel (a failover client) with MasterName, Cluster for several
// addresses. Context deadlines are honoured, so CallTimeout holds.
func NewClient(cfg ClientConfig) (redis.UniversalClient, error) {
	opts, err := universalOptions(cfg)
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(opts), nil
}

func universalOptions(cfg ClientConfig) (*redis.UniversalOptions, error) {
	o := &redis.UniversalOptions{
		Addrs: cfg.Addrs, MasterName: cfg.MasterName, DB: cfg.DB,
		Username: cfg.Username, Password: cfg.Password, PoolSize: cfg.PoolSize,
		DialTimeout:  orDefault(cfg.DialTimeout, defaultDialTimeout),
		ReadTimeout:  orDefault(cfg.ReadTimeout, defaultIOTimeout),
		WriteTimeout: orDefault(cfg.WriteTimeout, defaultIOTimeout),
		// Without this go-redis ignores context deadlines (RD-03).
		ContextTimeoutEnabled: true,
	}
	useTLS := cfg.TLS
	if cfg.URL != "" {
		if len(cfg.Addrs) > 0 {
			return nil, errors.New("redisstore: set url or addresses, not both")
		}
		u, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: redis url: %w", err)
		}
		o.Addrs = []string{u.Addr}
		o.Username, o.Password, o.DB = first(cfg.Username, u.Username), first(cfg.Password, u.Password), u.DB
		if cfg.DB != 0 {
			o.DB = cfg.DB
		}
		useTLS = useTLS || u.TLSConfig != nil
	}
	if len(o.Addrs) == 0 {
		return nil, errors.New("redisstore: no redis url or address")
	}
	if useTLS {
		// ServerName stays empty: go-redis dials with tls.DialWithDialer,
		// which verifies each node against the host it dialled.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	}
	return o, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
