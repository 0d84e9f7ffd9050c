package boltstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// TestCommitterGroupFailure: when one function of a group fails, its
// writes are rolled back and its own error returned, the others' writes
// are committed once, and each caller gets its own result.
func TestCommitterGroupFailure(t *testing.T) {
	t.Parallel()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	c := &committer{db: db}
	boom := errors.New("boom")
	put := func(k string, fail bool) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			if err := tx.Bucket([]byte("b")).Put([]byte(k), []byte("v")); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		}
	}
	// Hold the loop so that the writes below queue up as one group.
	hold := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = c.update(func(*bolt.Tx) error { close(started); <-hold; return nil })
	}()
	<-started
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { errs[i] = c.update(put(fmt.Sprint(i), i%3 == 1)) })
	}
	for {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == len(errs) {
			break
		}
	}
	close(hold)
	wg.Wait()
	err = db.View(func(tx *bolt.Tx) error {
		for i, e := range errs {
			failed := i%3 == 1
			if failed != errors.Is(e, boom) || !failed && e != nil {
				t.Errorf("write %d: %v", i, e)
			}
			if stored := tx.Bucket([]byte("b")).Get([]byte(fmt.Sprint(i))) != nil; stored == failed {
				t.Errorf("write %d: stored %v, failed %v", i, stored, failed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConsumeCodeInGroups: redemptions of many codes at once, mixed with
// redemptions of unknown codes (which fail their group and make the rest
// run again), consume each code exactly once: a function rerun after a
// rollback must not see its own rolled-back "used" flag.
func TestConsumeCodeInGroups(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "s.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	const n = 200
	for i := range n {
		if err := s.PutCode(ctx, fmt.Sprint("code", i), &oauthcore.AuthCode{ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	results := make([][2]error, n)
	for i := range n {
		wg.Go(func() { _, results[i][0] = s.ConsumeCode(ctx, fmt.Sprint("code", i)) })
		wg.Go(func() { _, results[i][1] = s.ConsumeCode(ctx, fmt.Sprint("missing", i)) })
	}
	wg.Wait()
	for i, r := range results {
		if r[0] != nil {
			t.Errorf("code %d: first redemption %v", i, r[0])
		}
		if !errors.Is(r[1], oauthcore.ErrNotFound) {
			t.Errorf("unknown code %d: %v", i, r[1])
		}
		if _, err := s.ConsumeCode(ctx, fmt.Sprint("code", i)); !errors.Is(err, oauthcore.ErrCodeUsed) {
			t.Errorf("code %d: second redemption %v, want ErrCodeUsed", i, err)
		}
	}
}
