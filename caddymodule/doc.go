// Package caddymodule adapts oauthcore to Caddy: the mcp_oauth app (issuer,
// keys, storage, GitHub, lifetimes), the mcp_oauth_server handler that
// serves the authorization-server endpoints, the embedded bolt storage
// module, and their Caddyfile syntax. The protocol lives in oauthcore;
// everything here is configuration, lifecycle and logging glue.
package caddymodule
