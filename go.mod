module github.com/mcpoauth/caddy-mcp-oauth

go 1.26.0

require (
	github.com/caddyserver/caddy/v2 v2.11.9
	github.com/golang-jwt/jwt/v5 v5.3.1
)

require (
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
