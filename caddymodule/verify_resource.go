package caddymodule

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// maxHostGates bounds the per-host gates a handler keeps: a site that
// accepts any Host must not let clients grow memory without limit.
const maxHostGates = 64

// gateFor returns the gate for the request: one for all hosts when the
// resource is configured and its metadata URL is the standard one, else
// one per host, built once from the origin and the route's path, so the
// checks and challenges of a request allocate nothing.
func (h *VerifyHandler) gateFor(r *http.Request) *oauthcore.Gate {
	if g := h.hosts.fixed.Load(); g != nil {
		return g
	}
	tls := 0
	if r.TLS != nil {
		tls = 1
	}
	if g, ok := h.hosts.byHost[tls].Load(r.Host); ok {
		return g.(*oauthcore.Gate)
	}
	p := h.placement(r)
	res := h.Resource
	if res == "" {
		res = h.originResource(r, p.prefix)
	}
	g := h.app.Server().NewGate(res, h.Scopes, !p.inRoute)
	if h.Resource != "" && !p.inRoute {
		h.hosts.fixed.Store(g)
	} else {
		g = h.hosts.byHost[tls].Keep(r.Host, g).(*oauthcore.Gate)
	}
	return g
}

// originResource is the default resource: the request's origin (the host
// Caddy matched the site by) plus the route's path, in the canonical form
// of oauthcore.CanonicalResource, which the audience is compared in.
func (h *VerifyHandler) originResource(r *http.Request, prefix string) string {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	res := scheme + r.Host + prefix
	canon, err := oauthcore.CanonicalResource(res)
	if err != nil {
		h.logger.Warn("this origin cannot be an OAuth resource (plain http on a public host?); set the resource option to the public https URL",
			zap.String("resource", res))
		return strings.ToLower(scheme+r.Host) + prefix
	}
	return canon
}

// placement learns, once, which path prefix the gate protects.
func (h *VerifyHandler) placement(r *http.Request) *placementInfo {
	if p := h.hosts.resolved.Load(); p != nil {
		return p
	}
	p := &placementInfo{}
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		prefix, found, plain := routePrefix(srv.Routes, h)
		if found && !plain {
			h.logger.Warn("the route around mcp_oauth_verify has a matcher that names no single path prefix; the resource is the whole origin unless you set the resource option")
		}
		p.prefix, p.inRoute = prefix, prefix != ""
	}
	h.hosts.resolved.Store(p)
	return p
}

// serveDiscovery answers the discovery documents that must never be gated:
// the metadata of the resources in the gate's space, and the authorization
// server's metadata for clients of the 2025-03-26 MCP revision, which look
// for it on the MCP origin.
func (h *VerifyHandler) serveDiscovery(w http.ResponseWriter, r *http.Request, g *oauthcore.Gate, path string) bool {
	if res, ok := g.MetadataResource(path); ok {
		g.ServeMetadata(w, r, res)
		return true
	}
	switch path {
	case "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration":
		h.app.Server().Handler(path)(w, r)
		return true
	}
	return false
}
