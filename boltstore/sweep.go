package boltstore

import (
	"encoding/json"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// The sweeper is the only code that scans whole buckets. Reads already treat
// expired records as missing; sweeping just gives the space back.

func (s *Store) sweepLoop(every time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			// A failed sweep is retried on the next tick; the same disk
			// error surfaces on the request paths, where it is reported.
			_ = s.Sweep()
		}
	}
}

// Sweep deletes every expired record now. Grants go before clients, so an
// expired registration whose last grant just expired goes in the same pass.
// Each bucket is its own transaction, to keep writers waiting briefly.
func (s *Store) Sweep() error {
	steps := []func(tx *bolt.Tx) error{
		s.sweepGrants,
		s.sweepClients,
		s.sweepPlain(bFlows),
		s.sweepPlain(bCodes),
		s.sweepPlain(bRevokedGrants),
		s.sweepPlain(bRevokedTokens),
		s.sweepPlain(bConsent),
		s.sweepPlain(bDocuments),
	}
	for _, step := range steps {
		if err := s.db.Update(step); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// sweepPlain deletes the records of a bucket whose expires_at has passed.
func (s *Store) sweepPlain(bucket []byte) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		var dead [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var e expiry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if s.expired(e.ExpiresAt) {
				dead = append(dead, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}
}

// sweepGrants drops expired grants with their index entries. No tombstone
// is needed: an expired grant reads as revoked anyway.
func (s *Store) sweepGrants(tx *bolt.Tx) error {
	var dead []oauthcore.Grant
	err := tx.Bucket(bGrants).ForEach(func(_, v []byte) error {
		var g oauthcore.Grant
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		if s.expired(g.ExpiresAt) {
			dead = append(dead, g)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range dead {
		if err := dropGrant(tx, &dead[i]); err != nil {
			return err
		}
	}
	return nil
}

// sweepClients drops expired clients that no live grant keeps alive, with
// what is left of their grant index.
func (s *Store) sweepClients(tx *bolt.Tx) error {
	var dead []string
	err := tx.Bucket(bClients).ForEach(func(k, v []byte) error {
		var c oauthcore.Client
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		if s.expired(c.ExpiresAt) && !s.hasLiveGrant(tx, c.ID) {
			dead = append(dead, string(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range dead {
		if err := tx.Bucket(bClients).Delete([]byte(id)); err != nil {
			return err
		}
		if _, err := s.revokeClientGrants(tx, id); err != nil {
			return err
		}
	}
	return nil
}
