package cimd

import (
	"errors"
	"net/http"
	"time"
)

// Kind says what went wrong with a lookup, so that the caller can answer
// with the right status: a client's fault is a 400 page, a document server
// that failed is a 502 or 504, our own bounds are a 503.
type Kind uint8

const (
	// KindInvalidURL: the client_id is not a valid Client Identifier URL.
	KindInvalidURL Kind = iota + 1
	// KindForbidden: policy refuses the URL's host, because it is not in
	// AllowedHosts or because it resolves to a special-use address.
	KindForbidden
	// KindInvalidDocument: a document was served but is not acceptable
	// (too large, not JSON, wrong client_id, a shared-secret method ...).
	KindInvalidDocument
	// KindFetch: the fetch failed: DNS, connection, TLS, a redirect or
	// another status than 200.
	KindFetch
	// KindTimeout: the fetch did not finish within Config.Timeout, or the
	// caller's context ended first.
	KindTimeout
	// KindBusy: the fetch was not attempted, because the document's host
	// already has MaxPerHost fetches in flight, MaxFetches are in flight
	// overall, or the host is in failure backoff. Error.RetryAfter says
	// when to try again.
	KindBusy
)

// Status is the HTTP status an endpoint should answer with for k.
func (k Kind) Status() int {
	switch k {
	case KindInvalidURL, KindForbidden, KindInvalidDocument:
		return http.StatusBadRequest
	case KindFetch:
		return http.StatusBadGateway
	case KindTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusServiceUnavailable
	}
}

// Permanent reports whether the client, as it stands, is unacceptable
// (a grant bound to it should be refused), rather than temporarily out of
// reach (try again later, keep the grant).
func (k Kind) Permanent() bool {
	return k == KindInvalidURL || k == KindForbidden || k == KindInvalidDocument
}

// String is a short snake_case name for logs and metrics.
func (k Kind) String() string {
	switch k {
	case KindInvalidURL:
		return "invalid_url"
	case KindForbidden:
		return "forbidden"
	case KindInvalidDocument:
		return "invalid_document"
	case KindFetch:
		return "fetch_failed"
	case KindTimeout:
		return "timeout"
	case KindBusy:
		return "busy"
	}
	return "unknown"
}

// Error is every error this package returns from a lookup or a parse.
// Reason is written for the person reading the error page and never holds
// addresses or other internals; Err, the cause, is for the log.
type Error struct {
	Kind   Kind
	Reason string
	Err    error
	// HTTPStatus is the document server's status when it answered with
	// another status than 200, else 0.
	HTTPStatus int
	// RetryAfter is set for KindBusy: how long until a fetch may be tried.
	RetryAfter time.Duration
}

// Error is the reason, then the cause.
func (e *Error) Error() string {
	s := "cimd: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, or 0 when err is not from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func newError(k Kind, reason string, cause error) *Error {
	return &Error{Kind: k, Reason: reason, Err: cause}
}

func invalidURL(reason string) *Error {
	return &Error{Kind: KindInvalidURL, Reason: "client_id " + reason}
}

func invalidDoc(reason string) *Error {
	return &Error{Kind: KindInvalidDocument, Reason: "client metadata document: " + reason}
}
