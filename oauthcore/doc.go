// Package oauthcore is the OAuth 2.1 authorization server and token verifier
// of caddy-mcp-oauth, written against plain net/http.
//
// # Shape
//
// NewServer only wires: it builds each endpoint as a small type holding
// the narrow store interfaces (store.go) and services it uses, and routes
// paths to them. Every endpoint reads the same way: parse the request into
// a typed value, decide, write the response or one *Error.
//
//	server.go        NewServer, the routes, the exported handles
//	env.go           clock, randomness, log and policy every endpoint shares
//	httpio.go        HTTP plumbing: methods and CORS, forms, JSON, bearer, client address
//	errors.go        the error vocabulary (ErrorCode) and the one JSON writer
//	pages.go         the consent and error pages
//	discovery.go     RFC 8414 metadata and the JWKS
//	clientmetadata.go RFC 7591 client metadata: validation, narrowing, rendering
//	register.go      /register (RFC 7591)
//	manage.go        /register/{client_id} (RFC 7592)
//	flow.go          the browser flow: cookies, approvals, pending flows, redirects
//	authorize.go     /authorize and the consent page
//	consent.go       /consent
//	callback.go      /callback (GitHub's return) and the code
//	clientlookup.go  the client a client_id names: the store, or its metadata document (internal/cimd)
//	clientauth.go    client authentication at /token, /revoke, /introspect
//	token.go         /token: authorization_code, the access token
//	refresh.go       /token: refresh_token, rotation and reuse detection
//	revoke.go        /revoke (RFC 7009)
//	introspect.go    /introspect (RFC 7662)
//	forwardauth.go   /verify and /verify/metadata for proxies that call out
//	health.go        /healthz for load balancers: the store answers, keys are loaded
//	admin.go, admin_keys.go  Admin: the operator's listings, revocation, key rotation, test tokens
//	metrics.go       Metrics: the protocol events counted; gate_outcome.go, verifier_stats.go
//	gate.go          Gate: the resource server's checks and RFC 9728 metadata
//	verifier.go      Verifier: verified-token cache and revocation lookup
//	jwt.go, keys.go  access-token JWTs, ES256 keys and their rotation
//	resource.go      RFC 8707 resources: canonical form, what is accepted
//	redirecturi.go   redirect URIs and the loopback rule
//	scope.go         scope narrowing
//	pkce.go          PKCE (S256) challenges and verifiers
//	secret.go        random secrets and their hashes at rest
//	throttle.go      per-key fixed-window counters for the rate limits
//	allowlist.go     the GitHub allow-list; github.go the GitHub upstream
//	github_api.go    GitHub's REST answers: orgs, teams, SSO, rate limits, token revocation
//	membership.go    allowed_orgs and allowed_teams, pinned by id
//	policy.go        who may use the server: users, orgs, teams; what ends a grant
//	grantcheck.go    the re-check on refresh and at the gate; GitHub App token renewal
//	sessions.go      the gate's per-grant cache: GitHub token, orgs, teams, membership_ttl
//	tokenseal.go     the users' GitHub tokens sealed at rest (AES-GCM)
//	config.go        Config: the policy, its defaults and Validate
//	model.go, claims.go  the stored records and the access-token claims
//	store.go, announcer.go  the store interfaces; revocation announcements
//	store_admin.go   AdminStore: paged listings of clients and grants
//
// One token's path: authorize.go → flow.go → consent.go → flow.go →
// callback.go → token.go → jwt.go, then at the resource gate.go →
// verifier.go → jwt.go.
//
// The stores (boltstore, redisstore) implement the interfaces in store.go
// and are checked by one conformance suite in oauthcore/storetest. Every
// cited requirement ID (AZ-04, RU-01 ...) is defined, with its source and
// the test that proves it, in docs/security-checklist.md.
//
// This package must never import Caddy, zap or go-redis, and no type may
// have more than 20 methods: tests keep it that way, so the protocol can
// be reasoned about and tested without a web server.
package oauthcore
