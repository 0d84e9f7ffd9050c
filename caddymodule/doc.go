// Package caddymodule adapts oauthcore to Caddy. The protocol lives in
// oauthcore; what is here is configuration, lifecycle, placement and
// logging glue, in Caddy's idiom: Provision applies defaults and resolves
// placeholders, Validate holds the checks, one concern per file.
//
// The modules:
//
//   - App, the `mcp_oauth` app (app.go, config.go; the global option of
//     the same name in caddyfile.go): one OAuth 2.1 authorization server
//     per Caddy config, with its issuer, signing keys (ES256 kept in the
//     store and rotated, or HS256 with jwt_secret), lifetimes, GitHub app
//     and allow-list, and storage. Provision resolves {env.*} and {file.*}
//     placeholders, parses durations (a bare number is seconds, otherwise
//     Caddy's syntax such as 24h or 90d), opens the storage and builds the
//     oauthcore.Server; Start syncs and rotates the signing keys every
//     minute and pins allow-listed logins to their GitHub ids.
//   - ServerHandler, the `mcp_oauth_server` handler (server_handler.go):
//     serves the authorization-server endpoints (metadata, /register and
//     /register/{id}, /authorize, /consent, /callback, /token, /revoke,
//     /introspect, /verify, /jwks, /healthz) on the site it is placed in, and passes
//     every other path on. It takes no options.
//   - VerifyHandler, the gate `mcp_oauth_verify` (verify_handler.go,
//     caddyfile_verify.go): checks the access token of every request in
//     process before the next handler (usually reverse_proxy) sees it,
//     answers the RFC 9728 metadata and the challenges itself, refuses
//     browser origins it does not trust (verify_cors.go), strips the token
//     and client-sent identity headers, and passes the user on in headers
//     and {http.auth.user.*} placeholders; with github_token it hands
//     the user's GitHub token to the upstream instead of the client's
//     token, and X-User-Orgs/X-User-Teams carry the allow-listed orgs
//     and teams. Which resource it protects is
//     learned once (verify_resource.go, placement.go): from its own path
//     matcher when the Caddyfile is adapted (`mcp_oauth_verify /github/*`,
//     which also routes the well-known metadata URLs to it), else from the
//     path matcher of the route, handle or handle_path around it on its
//     first request; the origin is the request's. Per-host gates live in a
//     bounded cache, so a Host header an attacker picks cannot grow it.
//   - BoltStorage, `mcp_oauth.storage.bolt` (storage_bolt.go): the
//     embedded default, one bbolt file in Caddy's data directory, kept
//     open across config reloads in a UsagePool (bbolt locks its file).
//   - RedisStorage, `mcp_oauth.storage.redis` (storage_redis.go): all
//     state in Redis (standalone, Sentinel or Cluster), so several
//     instances act as one server and revocations reach every instance's
//     gate through pub/sub. One client per distinct connection config is
//     shared across reloads; at Provision it checks how Redis is
//     configured and warns about, or with unsafe_config refuse fails on,
//     settings that can lose security state, and an unreachable Redis
//     fails the load.
//   - AdminAPI, `admin.api.mcp_oauth` (admin.go): the operator's routes
//     under /mcp_oauth/ on Caddy's admin endpoint (clients, grants,
//     revoke, stats, rotate-key, token), and the `caddy mcp-oauth`
//     commands that call them (command.go, command_run.go).
//   - Metrics (metrics.go, metrics_store.go): the mcp_oauth_* Prometheus
//     families in Caddy's registry; the store is wrapped to time every
//     operation. Load errors and start-up warnings: startup.go.
//
// The Caddyfile syntax of each is documented on its unmarshal function;
// testdata/adapt holds golden adaptations of every form.
package caddymodule
