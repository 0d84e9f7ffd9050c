package boltstore

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// committer groups the write transactions of concurrent requests into one
// bbolt transaction, so they share one disk sync. Durability is unchanged:
// a caller returns only after the transaction holding its write has been
// committed and synced. There is no added delay: a write that arrives
// while nothing is committing starts a transaction at once, and the
// writes that arrive while a transaction syncs make up the next one.
//
// A function is run again when its batch is rolled back because another
// function of the batch failed, so functions must be safe to retry: they
// may only touch the transaction and variables they overwrite (never
// append to) on each run. Every update function of this package is.
type committer struct {
	db *bolt.DB

	mu      sync.Mutex
	pending []*write
	running bool
}

// write is one caller's function and where its result goes.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// maxGroup bounds a group, so one transaction's dirty pages stay small.
const maxGroup = 256

// errSolo marks the function that failed a group; it is rerun alone.
var errSolo = errors.New("boltstore: rerun alone")

// update runs fn in a write transaction shared with the writes that are
// waiting at the same time, and returns fn's own error.
func (c *committer) update(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, w)
	if !c.running {
		c.running = true
		go c.loop()
	}
	c.mu.Unlock()
	return <-w.done
}

// loop commits groups until nothing is pending.
func (c *committer) loop() {
	for {
		c.mu.Lock()
		n := min(len(c.pending), maxGroup)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		group := c.pending[:n:n]
		c.pending = c.pending[n:]
		c.mu.Unlock()
		c.commit(group)
	}
}

// commit runs group in one transaction. When a function fails, the
// transaction is rolled back, that function runs alone in its own
// transaction (its error, and its writes rolled back, are exactly what a
// transaction of its own gives), and the rest is committed again.
func (c *committer) commit(group []*write) {
	for len(group) > 0 {
		if len(group) == 1 {
			group[0].done <- c.solo(group[0].fn)
			return
		}
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, w := range group {
				if err := safely(w.fn, tx); err != nil {
					failed = i
					return errSolo
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range group {
				w.done <- err // nil, or the commit's own failure for all
			}
			return
		}
		group[failed].done <- c.solo(group[failed].fn)
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

func (c *committer) solo(fn func(*bolt.Tx) error) error {
	return c.db.Update(func(tx *bolt.Tx) error { return safely(fn, tx) })
}

// safely turns a panic in fn into an error, so one bad write cannot take
// down the commit loop and every caller waiting on it.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p}
		}
	}()
	return fn(tx)
}

type panicError struct{ v any }

func (p panicError) Error() string { return "boltstore: write panicked" }
