package oauthcore

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// HTTP plumbing shared by every endpoint: methods and CORS, form bodies,
// JSON responses, bearer credentials and the client's address.

// maxFormBytes bounds token, revocation and introspection bodies (MD-06).
const maxFormBytes = 16 << 10

// params is a request's parameters with OAuth's single-value rule applied
// (OAuth 2.1 §3.1, §3.2: parameters must not repeat).
type params url.Values

func (p params) get(name string) string {
	if v := url.Values(p)[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// singleValued returns an error naming the first parameter that repeats,
// except those listed in multi.
func singleValued(v url.Values, multi ...string) error {
	for name, vals := range v {
		if len(vals) > 1 && !slices.Contains(multi, name) {
			return invalidRequest("parameter " + name + " must not be repeated")
		}
	}
	return nil
}

// parsePostForm reads an application/x-www-form-urlencoded POST body of at
// most maxFormBytes; anything else is a client error, never a 500.
func parsePostForm(w http.ResponseWriter, r *http.Request) (params, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return nil, NewError(http.StatusMethodNotAllowed, CodeInvalidRequest, "use POST")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if r.URL.RawQuery != "" {
		// Credentials and codes never travel in the URL (RFC 6749 §3.2).
		return nil, invalidRequest("parameters must be sent in the body, not the query")
	}
	body, err := readBody(w, r, maxFormBytes, CodeInvalidRequest)
	if err != nil {
		return nil, err
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the body is not valid form encoding")
	}
	if err := singleValued(v, "resource"); err != nil {
		return nil, err
	}
	return params(v), nil
}

// readBody reads at most limit bytes of the body; a larger body is 413
// with code, never truncated.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, code ErrorCode) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, NewError(http.StatusRequestEntityTooLarge, code, "the body is too large")
		}
		return nil, NewError(400, code, "could not read the body")
	}
	return body, nil
}

// allowMethods answers 405 for methods not listed and reports whether the
// request may go on. OPTIONS gets 204 with Allow, and no CORS headers:
// browsers must not call these endpoints cross-origin.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	return checkMethod(w, r, false, methods)
}

// corsMethods is allowMethods for endpoints browsers may call cross-origin:
// it answers CORS preflights.
func corsMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	return checkMethod(w, r, true, methods)
}

func checkMethod(w http.ResponseWriter, r *http.Request, allowCORS bool, methods []string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	if r.Method == http.MethodOptions {
		if allowCORS {
			cors(w.Header())
			w.Header().Set("Access-Control-Allow-Methods", allow)
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	WriteError(w, methodNotAllowed())
	return false
}

// cors allows any origin without credentials: browser MCP clients call the
// metadata, registration and token endpoints cross-origin (MD-04). Never
// used on the authorization endpoint or the consent page.
func cors(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
}

func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = 500, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Bearer credential failures.
var (
	errNoToken    = errors.New("no access token")
	errQueryToken = errors.New("access token in the URL")
)

// bearerToken takes the token of the one "Authorization: Bearer" header
// (the scheme is case-insensitive, RFC 7235 §2.1). It returns errNoToken
// when there is no bearer credential, ErrInvalidToken when the header is
// repeated, and errQueryToken for a token in the URL query (RFC 6750 §2.3:
// it ends up in logs, so it is refused rather than ignored).
func bearerToken(r *http.Request) (string, error) {
	if strings.Contains(r.URL.RawQuery, "access_token") && r.URL.Query().Has("access_token") {
		return "", errQueryToken
	}
	vals := r.Header["Authorization"]
	if len(vals) == 0 {
		return "", errNoToken
	}
	if len(vals) > 1 {
		return "", ErrInvalidToken
	}
	h := vals[0]
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", errNoToken
	}
	tok := strings.TrimSpace(h[7:])
	if tok == "" {
		return "", errNoToken
	}
	return tok, nil
}

type clientIPKey struct{}

// WithClientIP records the client's address as the embedding server
// resolved it (Caddy's client_ip, which honours trusted_proxies), so
// per-client limits never trust a raw X-Forwarded-For (CA-03).
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// clientIP is the address WithClientIP recorded, else the peer's.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
