package oauthcore

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
)

// maxStateBytes bounds the client's state before anything is stored (AZ-09).
const maxStateBytes = 1024

// authorizeEndpoint is /authorize (OAuth 2.1 §4.1.1): it validates the
// request, then either continues a flow this browser already approved or
// shows the consent page.
type authorizeEndpoint struct {
	*browserFlows
}

// authzError is an error found after the client and redirect URI were
// validated. It may go back to the client by redirect, but only when the
// browser has already approved that client (AZ-04); otherwise it is shown
// locally, so an unapproved client cannot use us as an open redirector.
type authzError struct {
	err *Error
	req *Request
}

func (a *authzError) Error() string { return a.err.Error() }

func (a *authorizeEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	if err := a.limitAddress(r, "authorize", a.cfg.Limits.AuthorizePerAddress, "authorization requests from this address"); err != nil {
		a.errorPage(w, r, "authorize", "", err)
		return
	}
	req, c, err := a.parse(r)
	approved, clientApproved := false, false
	if req != nil {
		var cerr error
		approved, clientApproved, cerr = a.hasConsent(r, req)
		if cerr != nil {
			a.errorPage(w, r, "authorize", req.ClientID, cerr)
			return
		}
	}
	if ae, ok := err.(*authzError); ok && clientApproved {
		a.redirectError(w, r, http.StatusFound, "authorize", ae.req, ae.err)
		return
	}
	if err != nil {
		if ae, ok := err.(*authzError); ok {
			err = ae.err
		}
		a.errorPage(w, r, "authorize", r.URL.Query().Get("client_id"), err)
		return
	}
	if approved {
		a.log.InfoContext(r.Context(), "consent remembered", "step", "authorize", "client_id", c.ID)
		a.startUpstream(w, r, http.StatusFound, req)
		return
	}
	a.showConsent(w, r, c, req)
}

// parse validates an authorization request in the order RFC 6749
// §4.1.2.1 demands: client and redirect URI first, because until both are
// known nothing may be redirected (AZ-01).
func (a *authorizeEndpoint) parse(r *http.Request) (*Request, *Client, error) {
	q := r.URL.Query()
	if err := singleValued(q, "resource"); err != nil {
		return nil, nil, err
	}
	p := params(q)
	c, err := a.clients.client(r, p.get("client_id"))
	if err != nil {
		return nil, nil, clientPageErr(err, NewError(400, CodeInvalidClient, "unknown client_id"))
	}
	req := &Request{ClientID: c.ID, ClientVersion: c.Version, RedirectURI: p.get("redirect_uri")}
	if err := resolveRedirect(c, req); err != nil {
		return nil, nil, err
	}
	return req, c, a.checkParams(p, q["resource"], c, req)
}

// resolveRedirect checks redirect_uri against the registration; it may be
// omitted only when exactly one URI is registered (OAuth 2.1 §2.3.2, RU-07).
func resolveRedirect(c *Client, req *Request) error {
	req.RedirectGiven = req.RedirectURI != ""
	if !req.RedirectGiven {
		if len(c.Metadata.RedirectURIs) != 1 {
			return invalidRequest("redirect_uri is required: the client registered several")
		}
		req.RedirectURI = c.Metadata.RedirectURIs[0]
		return nil
	}
	if !matchRedirectURI(c.Metadata.RedirectURIs, req.RedirectURI) {
		return invalidRequest("redirect_uri is not registered for this client")
	}
	return nil
}

// checkParams validates everything after the redirect URI; its errors are
// authzErrors.
func (a *authorizeEndpoint) checkParams(p params, resources []string, c *Client, req *Request) error {
	fail := func(code ErrorCode, desc string) error {
		return &authzError{err: NewError(400, code, desc), req: req}
	}
	req.State = p.get("state")
	if len(req.State) > maxStateBytes {
		req.State = ""
		return invalidRequest("state is longer than 1024 bytes")
	}
	// OAuth 2.1 §10.1: only the code flow; no implicit or hybrid response types.
	if rt := p.get("response_type"); rt != "code" {
		return fail(CodeUnsupportedResponseType, "response_type must be code")
	}
	// OAuth 2.1 §4.1.1 and RFC 7636 §4.3: PKCE with S256 is required; a
	// missing method means plain, which we refuse.
	if p.get("code_challenge_method") != "S256" {
		return fail(CodeInvalidRequest, "code_challenge_method must be S256")
	}
	req.Challenge = p.get("code_challenge")
	if !validChallenge(req.Challenge) {
		return fail(CodeInvalidRequest, "code_challenge must be 43 base64url characters (S256)")
	}
	scope, ok := a.cfg.grantScope(c, p.get("scope"))
	if !ok {
		return fail(CodeInvalidScope, "this client registered the scope \""+c.Metadata.Scope+"\"; ask for part of it")
	}
	req.Scope = scope
	res, err := a.cfg.resolveResource(resources)
	if err != nil {
		return fail(CodeInvalidTarget, err.Error())
	}
	req.Resource = res
	return nil
}

// showConsent renders the consent page for a pending flow. The CSRF token
// is bound to a browser cookie and stored (hashed) with the flow (CD-03).
func (a *authorizeEndpoint) showConsent(w http.ResponseWriter, r *http.Request, c *Client, req *Request) {
	flowID, err := a.secret("")
	csrf := a.cookie(r, "csrf")
	if err == nil && csrf == "" {
		csrf, err = a.secret("")
	}
	if err != nil {
		a.errorPage(w, r, "authorize", c.ID, unavailable(err))
		return
	}
	f := &Flow{Request: *req, CSRFHash: HashSecret(csrf), ExpiresAt: a.now().Add(a.cfg.FlowLifetime)}
	if err := a.flows.PutFlow(r.Context(), HashSecret(flowID), f); err != nil {
		a.errorPage(w, r, "authorize", c.ID, unavailable(err))
		return
	}
	a.setCookie(w, "csrf", csrf, int(a.cfg.FlowLifetime.Seconds()))
	a.log.InfoContext(r.Context(), "consent shown", "step", "authorize", "client_id", c.ID)
	a.metrics.Authorization(AuthzConsentShown)
	v := newConsentView(c, req)
	a.describe(v, c)
	v.FlowID, v.CSRF = flowID, csrf
	renderPage(w, http.StatusOK, pageData{Title: "Authorize " + v.ClientName, Consent: v})
}

// describe adds what the page says besides the request: the server the
// user grants access to, what the scopes allow in words, and for a
// document client the host that vouches for it, verified or not.
func (a *authorizeEndpoint) describe(v *consentView, c *Client) {
	v.ServerName = a.cfg.serverName()
	for _, sc := range v.Scopes {
		if text := a.cfg.ScopeDescriptions[sc]; text != "" {
			v.ScopeTexts = append(v.ScopeTexts, scopeText{sc, text})
		}
	}
	if isDocumentClient(c) {
		v.DocumentHost = (&cimd.Document{ClientID: c.ID}).Host()
		v.Verified = a.trusted.MatchClientID(c.ID)
	}
}

// newConsentView is what the consent page says about a request: who asks,
// where the code goes (RU-10: a loopback program, or an app on this
// device through a private-use scheme), and what is granted.
func newConsentView(c *Client, req *Request) *consentView {
	v := &consentView{ClientName: c.Metadata.ClientName, ClientID: c.ID, Scopes: strings.Fields(req.Scope), Resource: req.Resource}
	if v.ClientName == "" {
		v.ClientName = "Unnamed client"
	}
	v.RedirectHost = req.RedirectURI
	if u, err := url.Parse(req.RedirectURI); err == nil {
		v.RedirectHost = u.Host
		if u.Host == "" {
			v.RedirectHost = u.Scheme + ":"
		}
		if isPrivateUseScheme(u) {
			v.AppScheme = strings.ToLower(u.Scheme)
			if u.Host != "" {
				v.RedirectHost = v.AppScheme + "://" + u.Host
			}
		}
	}
	v.Loopback = true
	for _, ru := range c.Metadata.RedirectURIs {
		u, err := url.Parse(ru)
		v.Loopback = v.Loopback && err == nil && u.Scheme == "http" && isLoopbackURL(u)
	}
	return v
}
