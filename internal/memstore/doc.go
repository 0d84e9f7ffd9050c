// Package memstore is an in-memory oauthcore.Store for unit tests only:
// one mutex over plain maps, records copied in and out (through their
// JSON form, as the real stores keep them), and an injectable clock so a
// test can expire codes, flows, grants and clients without sleeping.
//
// It mirrors the semantics store.go documents and the conformance suite
// (oauthcore/storetest) checks: expired records read as ErrNotFound; a
// consumed code stays as a tombstone answering ErrCodeUsed until it
// expires; every refresh generation finds its grant; a revoked grant id
// (even one never created) stays revoked; an expired registration lives
// on while a live grant needs it; deleting a client revokes its grants.
// Revocations are announced in-process through the embedded Announcer.
//
// Nothing is ever swept: a test's store is small and short-lived. Do not
// use it in production; it keeps nothing across restarts.
package memstore
