package fakegithub

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Outage is how the REST API fails while SetOutage is on. The web flow
// (/login/oauth/...) keeps working, so a test can log in first and then
// take the API down.
type Outage string

// The outages GitHub really has.
const (
	OutageNone Outage = ""
	// Outage5xx answers 502 Bad Gateway (GitHub's "unicorn" page).
	Outage5xx Outage = "5xx"
	// OutageRateLimit is the primary rate limit: 403 with
	// X-RateLimit-Remaining: 0 and X-RateLimit-Reset.
	OutageRateLimit Outage = "rate_limit"
	// OutageSecondary is a secondary rate limit: 403 with Retry-After.
	OutageSecondary Outage = "secondary"
	// Outage429 is the other spelling GitHub uses for secondary limits.
	Outage429 Outage = "429"
	// OutageHang holds each request until the client gives up.
	OutageHang Outage = "hang"
)

// SetOutage makes every REST API request fail as o (OutageNone: works).
func (s *Server) SetOutage(o Outage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = o
}

// apiDown applies the configured outage to an API request; true means it
// has been answered.
func (s *Server) apiDown(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/login/") {
		return false
	}
	s.mu.Lock()
	o := s.outage
	s.mu.Unlock()
	h := w.Header()
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	switch o {
	case OutageNone:
		return false
	case Outage5xx:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1>Unicorn! &middot; GitHub</body></html>"))
	case OutageRateLimit:
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", reset)
		h.Set("X-RateLimit-Resource", "core")
		apiError(w, http.StatusForbidden, "API rate limit exceeded for user ID 1001.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
	case OutageSecondary, Outage429:
		h.Set("Retry-After", "60")
		status := http.StatusForbidden
		if o == Outage429 {
			status = http.StatusTooManyRequests
		}
		apiError(w, status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case OutageHang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	}
	return true
}

// RevokeTokens invalidates every token of login, as when the user removes
// the app in their GitHub settings: the API then answers 401.
func (s *Server) RevokeTokens(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, g := range s.tokens {
		if strings.EqualFold(g.login, login) {
			delete(s.tokens, tok)
		}
	}
	for rt, g := range s.refreshTokens {
		if strings.EqualFold(g.login, login) {
			delete(s.refreshTokens, rt)
		}
	}
}

// ExpireTokens makes the access tokens of login expired now (a GitHub App
// user token after its 8 hours); their refresh tokens stay valid.
func (s *Server) ExpireTokens(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.tokens {
		if strings.EqualFold(g.login, login) && g.app {
			g.expires = time.Now().Add(-time.Second)
		}
	}
}

// ValidToken reports whether token is a live access token of the fake.
func (s *Server) ValidToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tokens[token]
	return ok && (g.expires.IsZero() || time.Now().Before(g.expires))
}

// serveRevokeToken is DELETE /applications/{client_id}/token with the
// app's credentials in HTTP Basic and {"access_token": ...}: 204, 404 for a
// token GitHub does not know, 401 without the app's credentials.
func (s *Server) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token"
	if r.Method != http.MethodDelete {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.opts.ClientID || secret != s.opts.ClientSecret || r.PathValue("client_id") != id {
		apiError(w, http.StatusUnauthorized, "Requires authentication", doc)
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := decodeJSON(r, &body); err != nil || body.AccessToken == "" {
		apiError(w, http.StatusUnprocessableEntity, "Invalid request.", doc)
		return
	}
	s.mu.Lock()
	_, known := s.tokens[body.AccessToken]
	delete(s.tokens, body.AccessToken)
	s.revokedAtGitHub = append(s.revokedAtGitHub, body.AccessToken)
	s.mu.Unlock()
	if !known {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RevokedViaAPI returns the tokens the app deleted with DELETE
// /applications/{client_id}/token.
func (s *Server) RevokedViaAPI() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.revokedAtGitHub...)
}
