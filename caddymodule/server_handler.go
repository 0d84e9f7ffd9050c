package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func init() {
	caddy.RegisterModule(ServerHandler{})
}

// ServerHandler serves the authorization-server endpoints of the mcp_oauth
// app on the site it is placed in: metadata, /register (and RFC 7592's
// /register/{client_id}), /authorize, /consent, /callback, /token,
// /revoke, /introspect, /verify, /jwks and /healthz. Requests
// for other paths go on to the next handler.
type ServerHandler struct {
	server *oauthcore.Server
}

// CaddyModule returns the Caddy module information.
func (ServerHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.mcp_oauth_server", New: func() caddy.Module { return new(ServerHandler) }}
}

// Provision finds the mcp_oauth app.
func (h *ServerHandler) Provision(ctx caddy.Context) error {
	app, err := findApp(ctx, "mcp_oauth_server")
	if err != nil {
		return err
	}
	h.server = app.Server()
	return nil
}

// ServeHTTP serves our endpoints and passes everything else on.
func (h *ServerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	ep := h.server.Handler(r.URL.Path)
	if ep == nil {
		return next.ServeHTTP(w, r)
	}
	// Per-address limits use the address Caddy resolved, which honours
	// trusted_proxies: a client cannot reset them with X-Forwarded-For.
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		r = r.WithContext(oauthcore.WithClientIP(r.Context(), ip))
	}
	ep(w, r)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*ServerHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*ServerHandler)(nil)
)
