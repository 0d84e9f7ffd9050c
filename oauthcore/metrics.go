package oauthcore

import "net/http"

// Metrics receives the protocol events an operator counts. Every label is
// from a small fixed set (outcomes are "ok" or an RFC error code, grant
// types are the two this server supports or "other"), never a client id,
// user or path, so a metrics backend sees bounded series. The Caddy app
// turns them into Prometheus counters; the zero Options count nothing.
type Metrics interface {
	// Registration: outcome of a POST /register.
	Registration(outcome string)
	// Authorization: consent_shown, consent_approved, consent_denied,
	// github_ok, github_denied, github_failed.
	Authorization(outcome string)
	// TokenRequest: a /token request by grant type and outcome.
	TokenRequest(grantType, outcome string)
	// RefreshReuse: a rotated refresh token came back after its grace
	// window, and its grant was revoked.
	RefreshReuse()
	// Revocation: what /revoke (or the admin API) ended: access_token,
	// grant, client, user.
	Revocation(kind string)
}

// Authorization outcomes.
const (
	AuthzConsentShown    = "consent_shown"
	AuthzConsentApproved = "consent_approved"
	AuthzConsentDenied   = "consent_denied"
	AuthzGitHubOK        = "github_ok"
	AuthzGitHubDenied    = "github_denied"
	AuthzGitHubFailed    = "github_failed"
)

type noMetrics struct{}

func (noMetrics) Registration(string)         {}
func (noMetrics) Authorization(string)        {}
func (noMetrics) TokenRequest(string, string) {}
func (noMetrics) RefreshReuse()               {}
func (noMetrics) Revocation(string)           {}

// Outcome is "ok" for nil, else err's RFC error code ("no_credentials"
// for a refusal without one).
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if c := AsError(err).Code; c != CodeNone {
		return string(c)
	}
	return "no_credentials"
}

// grantLabel bounds a client-sent grant_type to the values we serve.
func grantLabel(gt string) string {
	if gt == grantCode || gt == grantRefresh {
		return gt
	}
	return "other"
}

// githubClient is the client NewGitHub would build, on transport: the
// same timeout, and never a redirect away from the configured endpoints.
// nil transport: nil, NewGitHub's default.
func githubClient(cfg GitHubConfig, transport http.RoundTripper) *http.Client {
	if transport == nil {
		return nil
	}
	return &http.Client{Timeout: cfg.Timeout, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
