package oauthcore

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// ErrorCode is an error code from the OAuth registries: RFC 6749 §4.1.2.1
// and §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8707 §2, RFC 8628 §3.5.
// Every refusal this package writes carries one of these.
type ErrorCode string

// The error codes this server sends.
const (
	CodeInvalidRequest          ErrorCode = "invalid_request"
	CodeInvalidClient           ErrorCode = "invalid_client"
	CodeInvalidGrant            ErrorCode = "invalid_grant"
	CodeUnauthorizedClient      ErrorCode = "unauthorized_client"
	CodeUnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	CodeUnsupportedResponseType ErrorCode = "unsupported_response_type"
	CodeInvalidScope            ErrorCode = "invalid_scope"
	CodeAccessDenied            ErrorCode = "access_denied"
	CodeServerError             ErrorCode = "server_error"
	CodeTemporarilyUnavailable  ErrorCode = "temporarily_unavailable"
	CodeInvalidToken            ErrorCode = "invalid_token"
	CodeInsufficientScope       ErrorCode = "insufficient_scope"
	CodeInvalidTarget           ErrorCode = "invalid_target"
	CodeInvalidRedirectURI      ErrorCode = "invalid_redirect_uri"
	CodeInvalidClientMetadata   ErrorCode = "invalid_client_metadata"
	CodeSlowDown                ErrorCode = "slow_down"
	// CodeNone is a refusal with no error code: RFC 6750 §3.1 for a
	// request that carried no credentials at all.
	CodeNone ErrorCode = ""
)

// Error is a refusal: an OAuth error as RFC 6749 §5.2 shapes it, written by
// WriteError as JSON or by the error page as HTML. Description is sent to
// the client; Cause is for the log only and is never sent.
type Error struct {
	Code        ErrorCode
	Description string
	Status      int
	// Challenge, when set, is sent as the WWW-Authenticate header.
	Challenge string
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int
	// Link, on the error page only, is where the user can fix the
	// problem (GitHub's SSO authorization page of an org).
	Link  string
	Cause error
	// body is the pre-rendered JSON body of errors built once (the gate's).
	body []byte
}

func (e *Error) Error() string {
	s := string(e.Code)
	if s == "" {
		s = "no credentials"
	}
	if e.Cause != nil {
		return s + ": " + e.Description + ": " + e.Cause.Error()
	}
	return s + ": " + e.Description
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

// NewError returns a refusal with the given status, code and description.
func NewError(status int, code ErrorCode, desc string) *Error {
	return &Error{Code: code, Description: desc, Status: status}
}

func invalidRequest(desc string) *Error { return NewError(400, CodeInvalidRequest, desc) }
func invalidGrant(desc string) *Error   { return NewError(400, CodeInvalidGrant, desc) }
func invalidTarget(desc string) *Error  { return NewError(400, CodeInvalidTarget, desc) }
func invalidClient(desc string) *Error {
	// RFC 6749 §5.2: 401 with a challenge for the scheme the client may use.
	return &Error{Code: CodeInvalidClient, Description: desc, Status: 401, Challenge: `Basic realm="oauth"`}
}
func methodNotAllowed() *Error {
	return NewError(http.StatusMethodNotAllowed, CodeInvalidRequest, "method not allowed")
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
	return &Error{Code: CodeSlowDown, Description: desc, Status: http.StatusTooManyRequests, RetryAfter: secs}
}

// unavailable wraps a storage or upstream failure. The cause goes to the log.
func unavailable(cause error) *Error {
	return &Error{Code: CodeTemporarilyUnavailable, Description: "the authorization server is temporarily unavailable, retry later",
		Status: http.StatusServiceUnavailable, RetryAfter: 2, Cause: cause}
}

// storeErr maps a store error: notFound for ErrNotFound, an outage for
// anything else.
func storeErr(err error, notFound *Error) *Error {
	if errors.Is(err, ErrNotFound) && notFound != nil {
		return notFound
	}
	return unavailable(err)
}

// outage is unavailable(err) for a non-nil err, else nil.
func outage(err error) error {
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// AsError converts any error to an *Error; unknown errors become server_error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeServerError, Description: "internal error", Status: 500, Cause: err}
}

// prerender fixes e's JSON body once, for refusals written on a hot path.
func (e *Error) prerender() *Error {
	e.body = e.marshal()
	return e
}

func (e *Error) marshal() []byte {
	m := map[string]string{"error_description": e.Description}
	if e.Code != CodeNone {
		m["error"] = string(e.Code)
	}
	b, _ := json.Marshal(m)
	return b
}

// WriteError writes err as an RFC 6749 §5.2 JSON error response, with its
// challenge and Retry-After. It is the only writer of JSON refusals.
func WriteError(w http.ResponseWriter, err error) {
	writeErrorChallenge(w, AsError(err), "")
}

// writeErrorChallenge is WriteError with a per-request challenge replacing
// e's (the gate's challenges name the metadata of the URL asked for).
func writeErrorChallenge(w http.ResponseWriter, e *Error, challenge string) {
	h := w.Header()
	if challenge == "" {
		challenge = e.Challenge
	}
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	noStore(h)
	body := e.body
	if body == nil {
		body = e.marshal()
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
