package oauthcore

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
)

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
		if len(vals) > 1 && !contains(multi, name) {
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
		return nil, newError(http.StatusMethodNotAllowed, "invalid_request", "use POST")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if r.URL.RawQuery != "" {
		// Credentials and codes never travel in the URL (RFC 6749 §3.2).
		return nil, invalidRequest("parameters must be sent in the body, not the query")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, newError(http.StatusRequestEntityTooLarge, "invalid_request", "the body is too large")
		}
		return nil, invalidRequest("could not read the body")
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
