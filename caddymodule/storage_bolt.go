package caddymodule

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/mcpoauth/caddy-mcp-oauth/boltstore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func init() {
	caddy.RegisterModule(BoltStorage{})
}

// boltPool shares one open database per file across config reloads: Caddy
// provisions the new config before it cleans up the old one, and bbolt
// holds an exclusive lock, so opening the file again would block.
var boltPool = caddy.NewUsagePool()

// BoltStorage is the embedded default store: one bbolt file, nothing else
// to run. Suited to a single Caddy instance; use redis for several.
type BoltStorage struct {
	// Path of the database file. Default: mcp_oauth/mcp_oauth.db in
	// Caddy's data directory. Placeholders such as {env.X} are resolved.
	Path string `json:"path,omitempty"`

	path  string
	store *boltstore.Store
}

// CaddyModule returns the Caddy module information.
func (BoltStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "mcp_oauth.storage.bolt", New: func() caddy.Module { return new(BoltStorage) }}
}

type boltDB struct{ *boltstore.Store }

func (b boltDB) Destruct() error { return b.Close() }

// Provision opens (or reuses) the database.
func (b *BoltStorage) Provision(ctx caddy.Context) error {
	b.path = caddy.NewReplacer().ReplaceKnown(b.Path, "")
	if b.path == "" {
		b.path = filepath.Join(caddy.AppDataDir(), "mcp_oauth", "mcp_oauth.db")
	}
	abs, err := filepath.Abs(b.path)
	if err != nil {
		return err
	}
	b.path = abs
	val, _, err := boltPool.LoadOrNew(b.path, func() (caddy.Destructor, error) {
		if err := os.MkdirAll(filepath.Dir(b.path), 0o700); err != nil {
			return nil, err
		}
		st, err := boltstore.Open(b.path, boltstore.Options{})
		if err != nil {
			return nil, err
		}
		ctx.Logger().Info("opened embedded store", zap.String("path", b.path))
		return boltDB{st}, nil
	})
	if err != nil {
		b.path = ""
		return fmt.Errorf("bolt storage: %w", err) // the error names the file
	}
	b.store = val.(boltDB).Store
	return nil
}

// Store returns the opened store.
func (b *BoltStorage) Store() oauthcore.Store { return b.store }

// Cleanup releases this config's reference to the database.
func (b *BoltStorage) Cleanup() error {
	if b.path == "" {
		return nil
	}
	_, err := boltPool.Delete(b.path)
	return err
}

// Interface guards
var (
	_ caddy.Provisioner  = (*BoltStorage)(nil)
	_ caddy.CleanerUpper = (*BoltStorage)(nil)
	_ StoreProvider      = (*BoltStorage)(nil)
)
