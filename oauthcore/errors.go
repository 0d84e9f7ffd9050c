package oauthcore

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Error is an OAuth protocol error as RFC 6749 §5.2 shapes it. Description is
// sent to the client; Cause is for the log only and is never sent.
type Error struct {
	Code        string
	Description string
	Status      int
	// Challenge, when set, is sent as the WWW-Authenticate header.
	Challenge string
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Description + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Cause }

// Store sentinel errors. Any other error a store returns is treated as an
// outage and answered with 503 temporarily_unavailable, never invalid_grant:
// clients throw their credentials away on invalid_grant.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("concurrent update")
	ErrCodeUsed = errors.New("authorization code already used")
)

func newError(status int, code, desc string) *Error {
	return &Error{Code: code, Description: desc, Status: status}
}

func invalidRequest(desc string) *Error { return newError(400, "invalid_request", desc) }
func invalidGrant(desc string) *Error   { return newError(400, "invalid_grant", desc) }
func invalidClient(desc string) *Error {
	// RFC 6749 §5.2: 401 with a challenge for the scheme the client may use.
	return &Error{Code: "invalid_client", Description: desc, Status: 401, Challenge: `Basic realm="oauth"`}
}

// tooManyRequests is the one answer to every rate limit: 429 (RFC 6585
// §4) with Retry-After, and the body {"error":"slow_down"} (the IANA OAuth
// error code for "you are calling too often", RFC 8628 §3.5) with a
// description of what was limited.
func tooManyRequests(desc string, wait time.Duration) *Error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &Error{Code: "slow_down", Description: desc, Status: http.StatusTooManyRequests, RetryAfter: secs}
}

// unavailable wraps a storage or upstream failure. The cause goes to the log.
func unavailable(cause error) *Error {
	return &Error{Code: "temporarily_unavailable", Description: "the authorization server is temporarily unavailable, retry later",
		Status: http.StatusServiceUnavailable, RetryAfter: 2, Cause: cause}
}

// storeErr maps a store error that is not one of the expected sentinels to an
// outage. notFound is returned for ErrNotFound.
func storeErr(err error, notFound *Error) *Error {
	if errors.Is(err, ErrNotFound) && notFound != nil {
		return notFound
	}
	return unavailable(err)
}

// AsError converts any error to an *Error; unknown errors become server_error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: "server_error", Description: "internal error", Status: 500, Cause: err}
}

// WriteError writes err as an RFC 6749 JSON error response.
func WriteError(w http.ResponseWriter, err error) {
	e := AsError(err)
	h := w.Header()
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	noStore(h)
	writeJSON(w, e.Status, map[string]string{"error": e.Code, "error_description": e.Description})
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
