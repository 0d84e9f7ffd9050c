package caddymodule

import (
	"net/http"
	"strings"
)

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
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		// RFC 6750 §3.1 has no code for a refused origin; the request is
		// one this server does not accept, so invalid_request.
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"this origin may not call this server"}`))
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

// isLoopbackOrigin reports whether a browser Origin is http(s) on
// localhost, 127.0.0.1 or [::1], with any port or none.
func isLoopbackOrigin(o string) bool {
	rest, ok := strings.CutPrefix(o, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(o, "https://"); !ok {
			return false
		}
	}
	host := rest
	if strings.HasPrefix(rest, "[::1]") {
		host, rest = "[::1]", rest[len("[::1]"):]
	} else if i := strings.IndexByte(rest, ':'); i >= 0 {
		host, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	if host != "localhost" && host != "127.0.0.1" && host != "[::1]" {
		return false
	}
	if rest == "" {
		return true
	}
	port := rest[1:]
	if rest[0] != ':' || port == "" || len(port) > 5 {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}
