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
