// Command caddy is stock Caddy with its standard modules plus
// caddy-mcp-oauth, for `go run ./cmd/caddy run --config Caddyfile.example`
// without installing xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// This plugin.
	_ "github.com/mcpoauth/caddy-mcp-oauth"
)

func main() {
	caddycmd.Main()
}
