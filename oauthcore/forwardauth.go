package oauthcore

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/bounded"
)

// forwardAuth is the ForwardAuth endpoint, /verify, and the metadata of
// the resources it protects, /verify/metadata and the issuer's own RFC 9728
// document.
type forwardAuth struct {
	*env
	verifier *Verifier
	// gates caches the gates by resource, queries by the query string of
	// the auth URL.
	gates, queries bounded.Map
}

// serveVerify is the ForwardAuth endpoint for deployments that keep Traefik
// or nginx in front: 200 with the identity headers, or the gate's 401/403.
//
// With /verify?resource=https://mcp.example.com/github the resource space
// is fixed by the operator in the auth URL, never taken from request
// headers (seed defect S31). Within that space X-Forwarded-Uri,
// which the proxy sets, names the URL the client asked for: a token is
// good there if its audience lies in the space and the URL at or below the
// audience. A forged X-Forwarded-Uri can only name another URL inside the
// operator's space.
//
// Without resource, the URL the proxy reports (X-Forwarded-Proto, -Host,
// -Uri) is the resource: a token is good if its audience covers that URL,
// the gate's rule, so a token for https://a.example/x is never accepted for
// https://b.example/ whatever the headers say. Tokens issued without a
// resource (audience: the issuer) stay accepted, as without the headers.
// With `resources` configured, a forwarded URL outside them is refused.
func (fa *forwardAuth) serveVerify(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodPost, http.MethodHead) {
		return
	}
	g, explicit, err := fa.verifyGate(r.URL.RawQuery)
	if err != nil {
		WriteError(w, err)
		return
	}
	var fg *Gate
	var path string
	if !explicit {
		fg, path = fa.forwardedGate(r)
	}
	var c *Claims
	if fg != nil {
		c, err = fa.checkForwarded(w, r, g, fg, path)
	} else {
		path = g.path // the issuer's space: X-Forwarded-Uri names nothing in it
		if explicit {
			path = forwardedPath(r, g)
		}
		c, err = g.Check(w, r, fa.verifier, path)
	}
	if err != nil {
		return
	}
	h := w.Header()
	h.Set("X-User-Id", c.Subject)
	h.Set("X-User-Name", c.Username)
	h.Set("X-User-Email", c.Email)
	h.Set("X-Client-Id", c.ClientID)
	h.Set("X-Scope", c.Scope)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// forwardedGate is the gate of the origin the proxy reports and the
// canonical path of the forwarded URL, without its query. It is nil, and
// /verify behaves exactly as without the headers (only tokens issued
// without a resource pass), when the proxy did not send all of
// X-Forwarded-Proto, -Host and -Uri, when they name no valid resource
// (plain http away from loopback, dot segments ...), or when the URL lies
// outside the configured `resources`: a deployment that worked before
// keeps working.
func (fa *forwardAuth) forwardedGate(r *http.Request) (g *Gate, path string) {
	proto, host, uri := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Uri")
	if proto == "" || host == "" || uri == "" {
		return nil, ""
	}
	canon, err := forwardedResource(proto, host, uri)
	if err != nil || (len(fa.cfg.Resources) > 0 && !fa.cfg.inConfiguredSpace(canon)) {
		return nil, ""
	}
	origin, path := SplitResource(canon)
	return fa.forwardAuthGate(origin), path
}

// forwardedResource is the canonical resource of the URL a proxy reports:
// proto://host followed by the path of uri (its query dropped). Of a
// comma-separated proto or host (proxies in a chain), the first is the
// client'fa.
func forwardedResource(proto, host, uri string) (string, error) {
	proto, _, _ = strings.Cut(proto, ",")
	host, _, _ = strings.Cut(host, ",")
	proto = strings.ToLower(strings.TrimSpace(proto))
	if proto != "https" && proto != "http" {
		return "", errors.New("the scheme must be http or https")
	}
	host = strings.TrimSpace(host)
	if host == "" || strings.ContainsAny(host, "/?#@\\ ") {
		return "", errors.New("invalid host")
	}
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" || uri[0] != '/' {
		return "", errors.New("the URI must be an absolute path")
	}
	return CanonicalResource(proto + "://" + host + uri)
}

// checkForwarded is Gate.Check for a forwarded URL: the origin gate fg
// accepts a token whose audience covers path; a token issued without a
// resource (audience: the issuer) passes the issuer gate ig as it would
// without the forwarded headers. A refusal points at the forwarded URL's
// metadata.
func (fa *forwardAuth) checkForwarded(w http.ResponseWriter, r *http.Request, ig, fg *Gate, path string) (*Claims, error) {
	raw, err := bearerToken(r)
	if err == nil {
		var c *Claims
		if c, err = fa.verifier.Verify(r.Context(), raw); err == nil {
			if c.Aud() == fa.cfg.Issuer {
				err = ig.authorize(c, ig.path)
			} else {
				err = fg.authorize(c, path)
			}
			if err == nil {
				return c, nil
			}
		}
	}
	fg.refuse(w, err, path)
	return nil, err
}

// forwardedPath is the path of X-Forwarded-Uri when it lies in the gate's
// space, else the space's own path.
func forwardedPath(r *http.Request, g *Gate) string {
	if xfu := r.Header.Get("X-Forwarded-Uri"); xfu != "" {
		if u, err := url.ParseRequestURI(xfu); err == nil && within(strings.TrimRight(u.Path, "/"), g.path) {
			return u.Path
		}
	}
	return g.path
}

// serveVerifyMetadata publishes the RFC 9728 metadata of a resource that
// a ForwardAuth deployment protects: the proxy in front of the MCP server
// gates every path, so the metadata lives here and /verify's 401 points
// at it. Only resources the operator listed in `resources` are described
// when that list is set.
func (fa *forwardAuth) serveVerifyMetadata(w http.ResponseWriter, r *http.Request) {
	canon, err := CanonicalResource(r.URL.Query().Get("resource"))
	// The issuer's own space is always described: /verify's challenge for
	// tokens issued without a resource points into it.
	origin, _ := SplitResource(canon)
	issuerSpace := err == nil && origin == fa.cfg.Issuer
	if err != nil || (len(fa.cfg.Resources) > 0 && !issuerSpace && !fa.cfg.inConfiguredSpace(canon)) {
		WriteError(w, NewError(http.StatusNotFound, CodeInvalidTarget, "no metadata for this resource"))
		return
	}
	fa.forwardAuthGate(canon).ServeMetadata(w, r, canon)
}

// maxForwardAuthGates bounds each of the /verify caches (queries, gates):
// the resource parameter is operator config, but anyone can call /verify
// directly, and without it the cache is keyed by the forwarded origin.
// Beyond the bound a gate is built per request (cheap) and not kept.
const maxForwardAuthGates = 64

// verifyQuery is a parsed /verify query string: its gate, and whether it
// named a resource (else the gate is the issuer's).
type verifyQuery struct {
	gate     *Gate
	explicit bool
}

// verifyGate returns the gate for /verify's query string (the operator's
// auth URL, so the same few strings every time: they key the cache, and a
// repeat request parses nothing) and whether the query named a resource.
func (fa *forwardAuth) verifyGate(rawQuery string) (*Gate, bool, error) {
	if q, ok := fa.queries.Load(rawQuery); ok {
		vq := q.(*verifyQuery)
		return vq.gate, vq.explicit, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, false, invalidRequest("the query is not valid URL encoding")
	}
	vq := &verifyQuery{}
	resource := fa.cfg.Issuer
	if res := q.Get("resource"); res != "" {
		if resource, err = CanonicalResource(res); err != nil {
			return nil, false, invalidRequest("resource: " + err.Error())
		}
		vq.explicit = true
	}
	vq.gate = fa.forwardAuthGate(resource)
	fa.queries.Keep(rawQuery, vq)
	return vq.gate, vq.explicit, nil
}

func (fa *forwardAuth) forwardAuthGate(resource string) *Gate {
	if g, ok := fa.gates.Load(resource); ok {
		return g.(*Gate)
	}
	g := newGate(&fa.cfg, resource, nil, true)
	g.metadataBase = fa.cfg.Issuer + pathVerifyMetadata
	fa.gates.Keep(resource, g)
	return g
}

// serveIssuerMetadata publishes RFC 9728 metadata for the issuer as a
// resource: tokens requested without a resource carry it as audience, and
// /verify's challenge for them points here.
func (fa *forwardAuth) serveIssuerMetadata(w http.ResponseWriter, r *http.Request) {
	fa.forwardAuthGate(fa.cfg.Issuer).ServeMetadata(w, r, fa.cfg.Issuer)
}
