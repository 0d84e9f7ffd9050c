package oauthcore

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// env is what every endpoint needs besides its stores: the clock, the
// random source, the log, and the policy. One is built by NewServer and
// shared by pointer.
type env struct {
	cfg  Config
	now  func() time.Time
	rand io.Reader
	log  *slog.Logger
	// limits counts requests for Config.Limits.
	limits *limiter
	// metrics counts protocol events (metrics.go); never nil.
	metrics Metrics
}

// secret draws a new random secret; failure of the system RNG is fatal to
// the request, never silently weak.
func (e *env) secret(prefix string) (string, error) {
	return newSecret(e.rand, prefix)
}

// fail writes err as JSON and logs it: client mistakes at info, outages at
// error with their cause. Never a secret: causes come from our own code
// and the stores, which see only hashes.
func (e *env) fail(w http.ResponseWriter, r *http.Request, step, clientID string, err error) {
	ae := AsError(err)
	e.logFailure(r, step, clientID, ae)
	WriteError(w, ae)
}

// errorPage shows an error locally as HTML: used whenever redirecting is
// not safe (unknown client, unregistered redirect URI, unapproved client,
// bad state).
func (e *env) errorPage(w http.ResponseWriter, r *http.Request, step, clientID string, err error) {
	ae := AsError(err)
	e.logFailure(r, step, clientID, ae)
	renderError(w, ae)
}

func (e *env) logFailure(r *http.Request, step, clientID string, ae *Error) {
	level := slog.LevelInfo
	if ae.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("step", step), slog.String("error", string(ae.Code)), slog.String("reason", ae.Description)}
	if clientID != "" {
		attrs = append(attrs, slog.String("client_id", clientID))
	}
	if ae.Cause != nil {
		attrs = append(attrs, slog.String("cause", ae.Cause.Error()))
	}
	e.log.LogAttrs(r.Context(), level, "request denied", attrs...)
}
