// Package redistest starts real redis-server processes for tests: a
// standalone server, or a Redis Cluster of three masters, each on free
// loopback ports in its own temporary directory and stopped through
// t.Cleanup. A server counts as started only when the process it started
// answers (INFO process_id), never another test's Redis that took the
// port first; then it starts over on another port. A port stays leased
// to its server (across processes, by a lock file) until the test ends,
// so a stopped server's address stays unanswered until its Restart.
//
// The stores are tested against the real thing, not a fake, because what
// they rely on is Redis behaviour a fake would have to guess: Lua atomicity,
// key expiry, pub/sub across cluster nodes, hash-tag slot routing, and how a
// client sees a server that dies or pauses.
//
// redis-server and redis-cli must be on PATH (Debian package redis-server).
// A missing binary fails the test with a message saying so, in CI and
// locally alike: a skipped store test would look green while proving
// nothing.
package redistest
