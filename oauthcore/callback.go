package oauthcore

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

var errSigningKeys = errors.New("signing keys are not loaded")

// serveCallback is GitHub's return: the state must be one we issued, unused,
// and bound to this browser's cookie (CD-05); then GitHub's code becomes a
// user, the allow-list is applied, and our own code goes to the client.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	if err := singleValued(q); err != nil {
		s.errorPage(w, r, "callback", "", err)
		return
	}
	f, err := s.takeCallbackFlow(r, q.Get("state"))
	if err != nil {
		s.errorPage(w, r, "callback", "", err)
		return
	}
	req := &f.Request
	if _, err := s.revalidate(r, req); err != nil {
		s.errorPage(w, r, "callback", req.ClientID, err)
		return
	}
	if ghErr := q.Get("error"); ghErr != "" || q.Get("code") == "" {
		// The user cancelled at GitHub, or GitHub refused: tell the client
		// (the original left it waiting, S19).
		code := "access_denied"
		if ghErr != "" && ghErr != "access_denied" {
			code = "server_error"
		}
		s.redirectError(w, r, http.StatusFound, "callback", req, newError(400, code, "the GitHub login did not complete"))
		return
	}
	user, err := s.upstream.Exchange(r.Context(), q.Get("code"))
	if err != nil {
		s.redirectError(w, r, http.StatusFound, "callback", req, &Error{Code: "temporarily_unavailable",
			Description: "the GitHub login failed, try again", Status: 502, Cause: err})
		return
	}
	if !s.userAllowed(r.Context(), user) {
		s.log.WarnContext(r.Context(), "user not allowed", "step", "callback", "client_id", req.ClientID,
			"github_id", user.ID, "github_login", user.Login)
		s.redirectError(w, r, http.StatusFound, "callback", req, newError(403, "access_denied", "this GitHub account is not allowed to use this server"))
		return
	}
	s.issueCode(w, r, req, user)
}

// takeCallbackFlow finds the flow by state and checks the browser binding
// before consuming it, so a replay from another browser cannot even burn
// the victim's flow.
func (s *Server) takeCallbackFlow(r *http.Request, state string) (*Flow, error) {
	bad := newError(400, "invalid_request", "the sign-in state is invalid, expired or from another browser; start again")
	browser := s.cookie(r, "browser")
	if state == "" || len(state) > 128 || browser == "" {
		return nil, bad
	}
	return s.takeBoundFlow(r.Context(), HashSecret(state), browser, func(f *Flow) string { return f.BrowserHash }, bad)
}

// takeBoundFlow consumes the flow stored under key if secret matches the
// hash the flow is bound to. Checking before consuming means a request
// with the wrong secret cannot burn someone else's flow.
func (s *Server) takeBoundFlow(ctx context.Context, key, secret string, bound func(*Flow) string, bad *Error) (*Flow, error) {
	f, err := s.store.GetFlow(ctx, key)
	if err != nil {
		return nil, storeErr(err, bad)
	}
	if h := bound(f); h == "" || !hashMatches(secret, h) {
		return nil, bad
	}
	if f, err = s.store.TakeFlow(ctx, key); err != nil {
		return nil, storeErr(err, bad)
	}
	return f, nil
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// issueCode stores a single-use code bound to everything it was issued for
// and redirects to the client with code, state and iss.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req *Request, u User) {
	code, err := s.secret("")
	if err != nil {
		s.errorPage(w, r, "callback", req.ClientID, unavailable(err))
		return
	}
	ac := &AuthCode{Request: *req, User: u, ExpiresAt: s.now().Add(s.cfg.CodeLifetime)}
	if err := s.store.PutCode(r.Context(), HashSecret(code), ac); err != nil {
		s.redirectError(w, r, http.StatusFound, "callback", req, unavailable(err))
		return
	}
	s.log.InfoContext(r.Context(), "code issued", "step", "callback", "client_id", req.ClientID, "github_id", u.ID)
	s.redirectClient(w, r, http.StatusFound, req, url.Values{"code": {code}})
}
