package boltstore

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Dump returns a copy of the whole database file, free pages included, so a
// test can prove that no plain secret was ever written (storetest.Dumper).
func (s *Store) Dump() ([]byte, error) {
	var buf bytes.Buffer
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(&buf)
		return err
	})
	return buf.Bytes(), err
}
