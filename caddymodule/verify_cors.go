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
		_, _ = w.Write([]byte(`{"error":"forbidden","error_description":"this origin may not call this server"}`))
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
