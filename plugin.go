// Package caddymcpoauth is the xcaddy entry point of caddy-mcp-oauth:
//
//	xcaddy build --with github.com/mcpoauth/caddy-mcp-oauth
//
// It registers the Caddy modules of package caddymodule.
package caddymcpoauth

import (
	// Register the mcp_oauth app, its handlers and storage modules.
	_ "github.com/mcpoauth/caddy-mcp-oauth/caddymodule"
)
