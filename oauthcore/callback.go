package oauthcore

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// callbackEndpoint is GitHub's return, /callback: the state must be one we
// issued, unused, and bound to this browser's cookie (CD-05); then
// GitHub's code becomes a user, the allow-list is applied, and our own
// code goes to the client.
type callbackEndpoint struct {
	*browserFlows
	codes  CodeStore
	policy *policy
	sealer *sealer
}

// tokenExchanger is an upstream that also hands over the user's token.
type tokenExchanger interface {
	ExchangeToken(ctx context.Context, code string) (User, *GitHubToken, error)
}

func (cb *callbackEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	if err := cb.limitAddress(r, "callback", cb.cfg.Limits.CallbackPerAddress, "sign-ins from this address"); err != nil {
		cb.errorPage(w, r, "callback", "", err)
		return
	}
	q := r.URL.Query()
	if err := singleValued(q); err != nil {
		cb.errorPage(w, r, "callback", "", err)
		return
	}
	f, err := cb.takeFlow(r, q.Get("state"))
	if err != nil {
		cb.errorPage(w, r, "callback", "", err)
		return
	}
	req := &f.Request
	if _, err := cb.revalidate(r, req); err != nil {
		cb.errorPage(w, r, "callback", req.ClientID, err)
		return
	}
	if ghErr := q.Get("error"); ghErr != "" || q.Get("code") == "" {
		// The user cancelled at GitHub, or GitHub refused: tell the client
		// rather than leave it waiting (S19).
		code, outcome := CodeAccessDenied, AuthzGitHubDenied
		if ghErr != "" && ghErr != string(CodeAccessDenied) {
			code, outcome = CodeServerError, AuthzGitHubFailed
		}
		cb.metrics.Authorization(outcome)
		cb.redirectError(w, r, http.StatusFound, "callback", req, NewError(400, code, "the GitHub login did not complete"))
		return
	}
	user, tok, err := cb.exchange(r.Context(), q.Get("code"))
	if err != nil {
		cb.metrics.Authorization(AuthzGitHubFailed)
		cb.redirectError(w, r, http.StatusFound, "callback", req, &Error{Code: CodeTemporarilyUnavailable,
			Description: "the GitHub login failed, try again", Status: 502, Cause: err})
		return
	}
	ms, err := cb.policy.admit(r.Context(), user, tok.AccessToken)
	if err != nil {
		cb.refuse(w, r, req, user, err)
		return
	}
	cb.metrics.Authorization(AuthzGitHubOK)
	cb.issueCode(w, r, req, withMembership(user, ms), tok)
}

func (cb *callbackEndpoint) exchange(ctx context.Context, code string) (User, *GitHubToken, error) {
	if te, ok := cb.upstream.(tokenExchanger); ok {
		return te.ExchangeToken(ctx, code)
	}
	u, err := cb.upstream.Exchange(ctx, code)
	return u, &GitHubToken{}, err
}

// refuse answers a login the policy refused: an SSO org to authorize is a
// page here (the user is in this browser and can follow the link); an
// outage or a refusal goes back to the client.
func (cb *callbackEndpoint) refuse(w http.ResponseWriter, r *http.Request, req *Request, u User, err error) {
	e := cb.policy.loginError(err)
	if e.Code == CodeAccessDenied {
		cb.metrics.Authorization(AuthzGitHubDenied)
	} else {
		cb.metrics.Authorization(AuthzGitHubFailed)
	}
	if e.Link != "" || errors.As(err, new(*ssoError)) {
		cb.errorPage(w, r, "callback", req.ClientID, e)
		return
	}
	if e.Code == CodeAccessDenied {
		cb.log.WarnContext(r.Context(), "user not allowed", "step", "callback", "client_id", req.ClientID,
			"github_id", u.ID, "github_login", u.Login)
	}
	cb.redirectError(w, r, http.StatusFound, "callback", req, e)
}

// takeFlow finds the flow by state and checks the browser binding before
// consuming it, so a replay from another browser cannot even burn the
// victim's flow.
func (cb *callbackEndpoint) takeFlow(r *http.Request, state string) (*Flow, error) {
	bad := invalidRequest("the sign-in state is invalid, expired or from another browser; start again")
	browser := cb.cookie(r, "browser")
	if state == "" || len(state) > 128 || browser == "" {
		return nil, bad
	}
	return cb.takeBound(r.Context(), HashSecret(state), browser, func(f *Flow) string { return f.BrowserHash }, bad)
}

// issueCode stores a single-use code bound to everything it was issued for
// and redirects to the client with code, state and iss.
func (cb *callbackEndpoint) issueCode(w http.ResponseWriter, r *http.Request, req *Request, u User, tok *GitHubToken) {
	code, err := cb.secret("")
	if err != nil {
		cb.errorPage(w, r, "callback", req.ClientID, unavailable(err))
		return
	}
	ac := &AuthCode{Request: *req, User: u, ExpiresAt: cb.now().Add(cb.cfg.CodeLifetime)}
	// The token is sealed for the grant the code will make (CD-10).
	if tok.AccessToken != "" {
		if ac.GitHub, err = cb.sealer.seal(r.Context(), tok, grantIDForCode(HashSecret(code))); err != nil {
			cb.redirectError(w, r, http.StatusFound, "callback", req, unavailable(err))
			return
		}
	}
	if err := cb.codes.PutCode(r.Context(), HashSecret(code), ac); err != nil {
		cb.redirectError(w, r, http.StatusFound, "callback", req, unavailable(err))
		return
	}
	cb.log.InfoContext(r.Context(), "code issued", "step", "callback", "client_id", req.ClientID, "github_id", u.ID)
	cb.redirectClient(w, r, http.StatusFound, req, url.Values{"code": {code}})
}
