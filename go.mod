module github.com/mcpoauth/caddy-mcp-oauth

go 1.26

require (
	github.com/caddyserver/caddy/v2 v2.11.9
	github.com/golang-jwt/jwt/v5 v5.3.1
)
