// Package boltstore is the embedded default store of the OAuth server: one
// bbolt file holding every record kind of oauthcore.Store, for a single Caddy
// instance that needs no Redis.
//
// Each record kind has its own bucket of JSON values keyed by the id or the
// secret hash the caller gives; the store never sees a plain secret. Every
// check-and-set (code consumption, flow completion, grant rotation, key
// rotation) runs inside one bbolt write transaction, which bbolt serializes,
// so it is atomic without further locking.
//
// Expired records read as missing at once and are deleted later by a
// background sweeper. Two indexes keep request paths away from full scans:
// refresh hash -> grant (every generation, so reuse of an old token finds its
// family) and client -> grants (so deleting a client, or asking whether an
// expired registration still has a live grant, costs only that client's
// grants). Revocations are signalled in-process through Subscribe.
//
// Each record kind has its file, named as in redisstore: clients.go,
// flows.go, codes.go, grants.go, revocations.go (grant tombstones and the
// access-token deny list), consents.go, keys.go and documents.go (fetched
// client metadata documents); sweep.go expires them
// all, dump.go is the test-only raw copy.
//
// bbolt locks its file: a second Open of the same path waits up to five
// seconds and then fails. Sharing one Store inside a process is the caller's
// job (the Caddy adapter keeps it in a UsagePool).
package boltstore
