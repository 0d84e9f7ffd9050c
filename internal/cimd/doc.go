// Package cimd fetches and validates OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document, "CIMD"): a client whose
// client_id is an https URL publishes its metadata at that URL, and the
// authorization server fetches it instead of a registration. The fetcher
// is built so that an attacker-chosen client_id cannot turn the server
// against its own network or flood a third party (SS-02).
//
// It imports neither oauthcore nor Caddy, so oauthcore can import it; the
// flow rules (redirect URI matching, consent, grants) stay in oauthcore.
//
//	errors.go     Error and Kind: what went wrong, and its HTTP status
//	clientid.go   ValidClientIDURL: the Client Identifier URL rules
//	document.go   ParseDocument: the document rules; Document
//	address.go    the special-use address classes checked at dial time
//	dial.go       the guarded DialContext: resolve, check every address, dial it
//	hosts.go      AllowedHosts patterns and PrivateHosts entries
//	hostlimit.go  per-host concurrency bound and failure backoff
//	lifetime.go   cache lifetime from Cache-Control, Age and Expires
//	cache.go      the Cache interface and MemoryCache
//	resolver.go   Config, Resolver: Lookup (cache, then fetch), Refetch
//	fetch.go      one fetch: no redirects, 200 only, 5 KiB, timeout
//
// # Using it from the flow
//
// Build one Resolver per server from the client_id_metadata options
// (allowed_hosts → AllowedHosts, private_hosts → PrivateHosts,
// cache_max → CacheMax, timeout → Timeout); New's error is the Caddyfile
// Validate error. Pass the server's redirect URI registration rule as
// CheckRedirectURI, so a document is held to the rule /register applies.
// A trusted_hosts list parses with ParseHostPatterns and matches with
// HostPatterns.MatchClientID.
//
// Wherever a client_id is resolved, IsClientIDURL(id) decides between the
// registered-client store and Resolver.Lookup(ctx, id). On error, take
// the *Error (errors.As): at /authorize render a local error page (never a
// redirect, RFC 6749 §4.1.2.1) with Kind.Status() and Error.Reason; at
// /token and /revoke, Kind.Permanent() errors are invalid_client (for the
// refresh grant, invalid_grant and the grant revoked) and the others are
// temporarily_unavailable with Retry-After from Error.RetryAfter, the
// grant kept. The Document's TokenEndpointAuthMethod is always "none":
// the client is public and PKCE applies. Its RedirectURIs take the same
// exact-or-loopback-any-port match as a registered client's; Host() is
// what the consent page names.
//
// The refresh grant calls Lookup too: while the document is cached that
// is a map read; after it expired, Lookup fetches once, and the grant
// must then still find its redirect URI in the document (a changed
// client_id or a shared-secret method already fails the lookup).
//
// # Caching across instances
//
// Cache is two methods over JSON-encodable Entries, so Redis (shared
// across instances: one fetch per document per lifetime between them,
// short of two instances missing at the same moment) and bbolt can back
// it; a store's TTL is Entry.Expires minus now. Only valid documents are
// put. Lookup checks expiry, the entry's client_id and AllowedHosts on
// every hit, so a store may hand back stale or foreign entries safely.
//
// # Bounds
//
// Concurrent lookups of one URL share one fetch. At most MaxPerHost
// (4) distinct fetches run per document host and MaxFetches (32) in all;
// past that a lookup fails at once with KindBusy instead of queueing.
// After a failed fetch the host is left alone for 1 s, doubling to 10 s;
// a success ends it. Hosts are keyed by name without port, never by the
// requester, so one requester can delay others' first fetch from a host
// for up to 10 s but cannot make the server hammer it; cached documents
// are unaffected.
package cimd
