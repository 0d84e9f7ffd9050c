package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// SweepInterval is how often expired records are deleted from the file.
	// Reads ignore expired records regardless; the sweep only bounds the
	// file's growth. Default: one minute.
	SweepInterval time.Duration
	// Now is the clock expiry is judged by. Default: time.Now.
	Now func() time.Time
}

// Store is an oauthcore.Store kept in one bbolt file.
type Store struct {
	db     *bolt.DB
	now    func() time.Time
	writes committer

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	// Revocations are announced in-process only: a bbolt file has a
	// single writer process, so every revocation was made here.
	oauthcore.Announcer
}

// openTimeout bounds the wait for bbolt's file lock, so a file held by
// another process fails provisioning instead of hanging Caddy's start.
var openTimeout = 5 * time.Second

const defaultSweep = time.Minute

// Bucket names. The two index buckets use composite keys "a\x00b" so a
// prefix seek lists the members of one owner.
var (
	bClients       = []byte("clients")        // client id -> Client
	bClientGrants  = []byte("client_grants")  // client id \0 grant id -> ""
	bFlows         = []byte("flows")          // hash -> Flow
	bCodes         = []byte("codes")          // hash -> AuthCode (tombstone once used)
	bGrants        = []byte("grants")         // grant id -> Grant (live ones only)
	bRefresh       = []byte("refresh")        // refresh hash -> grant id, every generation
	bGrantRefresh  = []byte("grant_refresh")  // grant id \0 refresh hash -> ""
	bRevokedGrants = []byte("revoked_grants") // grant id -> tombstone
	bRevokedTokens = []byte("revoked_tokens") // jti -> tombstone
	bConsent       = []byte("consent")        // hash -> tombstone-shaped expiry
	bKeys          = []byte("keys")           // "current" -> KeySet
	bDocuments     = []byte("documents")      // SHA-256 of client_id URL -> fetched document

	allBuckets = [][]byte{bClients, bClientGrants, bFlows, bCodes, bGrants, bRefresh,
		bGrantRefresh, bRevokedGrants, bRevokedTokens, bConsent, bKeys, bDocuments}
)

// expiry is the stored form of tombstones and consent, and the part of any
// record the sweeper needs: every record kind names its end "expires_at".
type expiry struct {
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Open opens or creates the store file at path and starts its sweeper.
func Open(path string, opts Options) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		// bbolt's own word is "timeout": say whose lock it is and what to do.
		return nil, fmt.Errorf("boltstore: %s is locked by another process (another Caddy with the same "+
			"data directory?); stop it, or give this one its own file (storage bolt <path>): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	s := &Store{db: db, now: opts.Now, writes: committer{db: db}, stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	every := opts.SweepInterval
	if every <= 0 {
		every = defaultSweep
	}
	go s.sweepLoop(every)
	return s, nil
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the sweeper and closes the file. It is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// view and update run fn in a transaction; update's is shared with the
// concurrent writes (committer), so fn must be safe to retry. The store's
// sentinel errors pass through untouched; anything else is an outage and
// gets a prefix.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return wrap(s.db.View(fn))
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return wrap(s.writes.update(fn))
}

func wrap(err error) error {
	if err == nil || errors.Is(err, oauthcore.ErrNotFound) ||
		errors.Is(err, oauthcore.ErrConflict) || errors.Is(err, oauthcore.ErrCodeUsed) {
		return err
	}
	return fmt.Errorf("boltstore: %w", err)
}

// expired reports whether a record ending at t is gone. Zero means never.
func (s *Store) expired(t time.Time) bool {
	return !t.IsZero() && !s.now().Before(t)
}

// getJSON decodes the value under key into v and reports whether it existed.
// json.Unmarshal copies, so v stays valid after the transaction.
// getJSON decodes key's record into v, which is zeroed first: update
// functions are rerun when their group rolls back (committer), and a
// record decoded over the previous run's would keep fields the record
// omits (a used flag set by the run that was rolled back).
func getJSON(b *bolt.Bucket, key string, v any) (bool, error) {
	reflect.ValueOf(v).Elem().SetZero()
	raw := b.Get([]byte(key))
	if raw == nil {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), raw)
}

// getLive loads a record that carries an expiry and maps missing or expired
// to ErrNotFound.
func (s *Store) getLive(b *bolt.Bucket, key string, v any, end func() time.Time) error {
	ok, err := getJSON(b, key, v)
	if err != nil {
		return err
	}
	if !ok || s.expired(end()) {
		return oauthcore.ErrNotFound
	}
	return nil
}

// hasLive reports whether key holds an unexpired tombstone or consent.
func (s *Store) hasLive(ctx context.Context, bucket []byte, key string) (bool, error) {
	var live bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var e expiry
		ok, err := getJSON(tx.Bucket(bucket), key, &e)
		live = ok && !s.expired(e.ExpiresAt)
		return err
	})
	return live, err
}

// putUntil records key until end; a record that has already ended is not
// worth writing.
func (s *Store) putUntil(ctx context.Context, bucket []byte, key string, end time.Time) error {
	if s.expired(end) {
		return nil
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucket), key, expiry{ExpiresAt: end})
	})
}

// errBadID refuses ids that would break the "owner\x00member" index keys.
// Ids are server-made (base64url or hex), so this never fires in practice.
var errBadID = errors.New("id is empty or contains NUL")

func checkIDs(ids ...string) error {
	for _, id := range ids {
		if id == "" || strings.ContainsRune(id, 0) {
			return errBadID
		}
	}
	return nil
}

// pair builds an index key; members lists the second halves under owner.
func pair(owner, member string) []byte { return []byte(owner + "\x00" + member) }

func members(b *bolt.Bucket, owner string) []string {
	prefix := []byte(owner + "\x00")
	var out []string
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}
