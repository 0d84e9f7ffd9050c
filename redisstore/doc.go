// Package redisstore is the shared store of the OAuth server: every
// record kind of oauthcore.Store in Redis (standalone, Sentinel or
// Cluster), so several Caddy instances behind a load balancer serve any
// step of any flow. It keeps the semantics of the embedded boltstore and
// passes the same conformance suite (oauthcore/storetest).
//
// # Key layout
//
// P is Options.Prefix ("mcpoauth:"). Records are JSON. Keys named by a
// hash hold the SHA-256 digest the caller passes; the store never sees a
// plain secret (RD-10). TTLs are the record's end minus Options.Now.
//
//	P{c:<client id>}:client   Client JSON        TTL: its end or its latest grant's, whichever is later;
//	                                             none for a client that never expires
//	P{c:<client id>}:grants   zset grant id -> grant end (ms)   TTL: latest member
//	P{g:<grant id>}:grant     Grant JSON         TTL: grant end
//	P{g:<grant id>}:family    zset refresh hash -> end (ms) of every generation still
//	                          detectable         TTL: latest member
//	P{g:<grant id>}:revoked   tombstone "1"      TTL: the grant's end, or 1h for an unknown id
//	Prt:<refresh hash>        grant id (pointer) TTL: the grant's end while the hash was current or previous
//	Pcode:<code hash>         hash {record: AuthCode JSON, used: "1", grant_id}   TTL: code end
//	Pflow:<flow hash>         Flow JSON          TTL: flow end
//	Pjti:<jti>                "1"                TTL: access token end
//	Pconsent:<hash>           "1"                TTL: consent end
//	Pdoc:<client_id hash>     fetched client metadata document (cimd.Entry JSON)   TTL: its Expires
//	Pkeys                     KeySet JSON        no TTL
//	Plock:<name>               lock holder (random id); TryLock   TTL: the lock's
//	Prevocations              pub/sub channel: "grant:<id>" and "token:<jti>"
//
// Only two kinds of key live without TTL: clients registered without an
// expiry and the signing key set (RD-08).
//
// # Atomicity on a cluster
//
// Each atomic step is one command or one Lua script over keys of one hash
// tag, so it runs on one Redis Cluster slot: consuming a code marks it
// used and keeps it as a tombstone (RD-01); completing a flow is GETDEL;
// refresh rotation is a compare-and-swap on the grant's version (RD-02);
// the signing keys are saved by compare-and-swap too. Operations spanning
// tags (a refresh hash leads to a grant; a client lists its grants) are
// split into steps ordered so that a failure in between leaves only an
// index entry that leads nowhere, and every read checks the index against
// the record it leads to (see grants.go). Revocations are published by
// the same script that makes them.
//
// # Failure
//
// Every call has a deadline (Options.CallTimeout, 300ms by default, and
// the client must honour context deadlines, as NewClient's does). A
// missing record is oauthcore.ErrNotFound; anything else, a timeout or a
// refused connection, is returned as an error the server answers with
// 503, never as "not found" (RD-03). There is no in-memory fallback
// (RD-04). Check reports eviction and persistence settings that would lose
// security state (RD-05, RD-07). Request paths use no KEYS or SCAN
// (RD-09); only the test-only Dump scans.
//
// # Where it differs from boltstore
//
// A refresh hash stays findable until the end its grant had when the hash
// was last current or previous, not until the grant ends: with a sliding
// refresh lifetime a family could otherwise grow without bound. Presenting
// a generation older than that is invalid_grant without revoking the
// family: such a token could never be redeemed again, only its reuse
// alarm is lost. Records that must expire but carry no
// end time are refused rather than stored without TTL.
//
// # Files
//
// Each record kind has its file, named as in boltstore: clients.go,
// flows.go, codes.go, grants.go, revocations.go, consents.go and keys.go;
// announcements.go relays revocations between instances over pub/sub,
// layout.go names the keys, scripts.go holds the Lua scripts.
//
// Requires Redis 6.2 or later (GETDEL, ZADD GT, ZRANGE BYSCORE); Check
// fails on an older server.
package redisstore
