package oauthcore

import (
	"context"
	"net/http"
	"net/url"
)

// maxStateBytes bounds the client's state before anything is stored (AZ-09).
const maxStateBytes = 1024

// authzError is an error found after the client and redirect URI were
// validated. It may go back to the client by redirect, but only when the
// browser has already approved that client (AZ-04); otherwise it is shown
// locally, so an unapproved client cannot use us as an open redirector.
type authzError struct {
	err *Error
	req *Request
}

func (a *authzError) Error() string { return a.err.Error() }

// parseAuthorize validates an authorization request in the order RFC 6749
// §4.1.2.1 demands: client and redirect URI first, because until both are
// known nothing may be redirected (AZ-01).
func (s *Server) parseAuthorize(ctx context.Context, q url.Values) (*Request, *Client, error) {
	if err := singleValued(q, "resource"); err != nil {
		return nil, nil, err
	}
	p := params(q)
	c, err := s.store.GetClient(ctx, p.get("client_id"))
	if err != nil {
		return nil, nil, storeErr(err, newError(400, "invalid_client", "unknown client_id"))
	}
	req := &Request{ClientID: c.ID, ClientVersion: c.Version, RedirectURI: p.get("redirect_uri")}
	if err := resolveRedirect(c, req); err != nil {
		return nil, nil, err
	}
	return req, c, s.checkAuthorizeParams(p, q["resource"], c, req)
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
		return newError(400, "invalid_request", "redirect_uri is not registered for this client")
	}
	return nil
}

// checkAuthorizeParams validates everything after the redirect URI; its
// errors are authzErrors.
func (s *Server) checkAuthorizeParams(p params, resources []string, c *Client, req *Request) error {
	fail := func(code, desc string) error {
		return &authzError{err: newError(400, code, desc), req: req}
	}
	req.State = p.get("state")
	if len(req.State) > maxStateBytes {
		req.State = ""
		return invalidRequest("state is longer than 1024 bytes")
	}
	// OAuth 2.1 §10.1: only the code flow; no implicit or hybrid response types.
	if rt := p.get("response_type"); rt != "code" {
		return fail("unsupported_response_type", "response_type must be code")
	}
	// OAuth 2.1 §4.1.1 and RFC 7636 §4.3: PKCE with S256 is required; a missing
	// method means plain, which we refuse.
	if p.get("code_challenge_method") != "S256" {
		return fail("invalid_request", "code_challenge_method must be S256")
	}
	req.Challenge = p.get("code_challenge")
	if !validChallenge(req.Challenge) {
		return fail("invalid_request", "code_challenge must be 43 base64url characters (S256)")
	}
	scope, ok := s.grantScope(c, p.get("scope"))
	if !ok {
		return fail("invalid_scope", "this client registered the scope \""+c.Metadata.Scope+"\"; ask for part of it")
	}
	req.Scope = scope
	res, err := s.resolveResource(resources)
	if err != nil {
		return fail("invalid_target", err.Error())
	}
	req.Resource = res
	return nil
}

// resolveResource applies RFC 8707: at most one distinct resource (some
// clients repeat the same one), valid, and one of the configured resources
// when the operator listed them.
func (s *Server) resolveResource(values []string) (string, error) {
	var res string
	for _, v := range values {
		canon, err := CanonicalResource(v)
		if err != nil {
			return "", err
		}
		if res != "" && canon != res {
			return "", errString("only one resource may be requested")
		}
		res = canon
	}
	if res != "" && len(s.cfg.Resources) > 0 && !s.knownResource(res) {
		return "", errString("resource is not served by this authorization server")
	}
	if res == "" && len(s.cfg.Resources) == 1 {
		// RS-02: clients that omit resource (MCP 2025-03-26 style) get the
		// one protected resource as audience when there is just one.
		return CanonicalResource(s.cfg.Resources[0])
	}
	return res, nil
}

func (s *Server) knownResource(res string) bool {
	for _, r := range s.cfg.Resources {
		if canon, err := CanonicalResource(r); err == nil && canon == res {
			return true
		}
	}
	return false
}

type errString string

func (e errString) Error() string { return string(e) }

// validChallenge checks the S256 challenge syntax: 43 base64url characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !isBase64URL(c[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	req, c, err := s.parseAuthorize(r.Context(), r.URL.Query())
	approved, clientApproved := false, false
	if req != nil {
		var cerr error
		approved, clientApproved, cerr = s.hasConsent(r, req)
		if cerr != nil {
			s.errorPage(w, r, "authorize", req.ClientID, cerr)
			return
		}
	}
	if ae, ok := err.(*authzError); ok && clientApproved {
		s.redirectError(w, r, http.StatusFound, "authorize", ae.req, ae.err)
		return
	}
	if err != nil {
		if ae, ok := err.(*authzError); ok {
			err = ae.err
		}
		s.errorPage(w, r, "authorize", r.URL.Query().Get("client_id"), err)
		return
	}
	if approved {
		s.log.InfoContext(r.Context(), "consent remembered", "step", "authorize", "client_id", c.ID)
		s.startUpstream(w, r, http.StatusFound, req)
		return
	}
	s.showConsent(w, r, c, req)
}
