package caddymodule

import (
	"net/http"
	"strings"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// errForeignOrigin refuses a browser origin that is not allowed. RFC 6750
// §3.1 has no code for it; the request is one this server does not
// accept, so invalid_request.
var errForeignOrigin = oauthcore.NewError(http.StatusForbidden, oauthcore.CodeInvalidRequest, "this origin may not call this server")

// checkOrigin applies the Origin policy: browsers' cross-origin requests
// get CORS headers when allowed and 403 otherwise (the MCP transport's
// DNS-rebinding defence). Requests without Origin are not browsers' and
// pass.
func (h *VerifyHandler) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if !h.originAllowed(o, r) {
		oauthcore.WriteError(w, errForeignOrigin)
		return false
	}
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", o)
	hdr.Add("Vary", "Origin")
	hdr.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id")
	return true
}

func (h *VerifyHandler) originAllowed(o string, r *http.Request) bool {
	if h.anyOrigin || sameOrigin(o, r) {
		return true
	}
	if len(h.AllowedOrigins) == 0 {
		return isLoopbackOrigin(o)
	}
	for _, a := range h.AllowedOrigins {
		if strings.EqualFold(a, o) {
			return true
		}
	}
	return false
}

// sameOrigin compares Origin with the request's own scheme and host.
func sameOrigin(o string, r *http.Request) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return len(o) == len(scheme)+len(r.Host) && strings.HasPrefix(o, scheme) && strings.EqualFold(o[len(scheme):], r.Host)
}

// preflight answers a CORS preflight without a token: browsers send none.
func (h *VerifyHandler) preflight(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID")
	hdr.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// isLoopbackOrigin reports whether a browser Origin is http(s) on a
// loopback host (oauthcore.IsLoopbackHost), with any port or none.
func isLoopbackOrigin(o string) bool {
	hostport, ok := strings.CutPrefix(o, "http://")
	if !ok {
		if hostport, ok = strings.CutPrefix(o, "https://"); !ok {
			return false
		}
	}
	host := hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host = hostport[:i]
		if port := hostport[i+1:]; port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if h, ok := strings.CutPrefix(host, "["); ok {
		// Only IPv6 hosts are bracketed.
		h, ok = strings.CutSuffix(h, "]")
		return ok && strings.Contains(h, ":") && oauthcore.IsLoopbackHost(h)
	}
	return !strings.Contains(host, ":") && oauthcore.IsLoopbackHost(host)
}
