package oauthcore

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Cookie names; with an https issuer they carry the __Host- prefix, which
// makes the browser insist on Secure, Path=/ and no Domain (CD-06).
func (s *Server) cookieName(base string) string {
	if s.secureCookies() {
		return "__Host-mcpoauth_" + base
	}
	return "mcpoauth_" + base
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.cfg.Issuer, "https://") }

func (s *Server) setCookie(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(base), Value: value, Path: "/", MaxAge: maxAge,
		Secure: s.secureCookies(), HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (s *Server) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(s.cookieName(base))
	if err != nil || len(c.Value) != 43 {
		return ""
	}
	return c.Value
}

// consentKey names one approval: this browser, this client registration
// (its version, so an RFC 7592 update asks again), where the code goes,
// and what is granted. Loopback ports are left out: native apps pick a
// new one every time (RFC 8252 §7.3).
func consentKey(browser string, req *Request) string {
	redirect := req.RedirectURI
	if u, err := url.Parse(redirect); err == nil && u.Scheme == "http" && isLoopbackLiteral(u) {
		redirect = withoutPort(u)
	}
	return HashSecret(strings.Join([]string{browser, req.ClientID, strconv.Itoa(req.ClientVersion), redirect, req.Scope, req.Resource}, "\x00"))
}

// clientApprovalKey names the fact that this browser approved this client
// registration for this redirect URI at all, whatever the scope: enough
// to send it protocol errors by redirect (AZ-04 forbids that only for
// clients the user never approved).
func clientApprovalKey(browser string, req *Request) string {
	return consentKey(browser, &Request{ClientID: req.ClientID, ClientVersion: req.ClientVersion,
		RedirectURI: req.RedirectURI, Scope: "\x00any"})
}

// hasConsent reports whether this browser approved exactly this request
// (then consent is skipped) and whether it approved the client at all.
func (s *Server) hasConsent(r *http.Request, req *Request) (exact, client bool, err error) {
	browser := s.cookie(r, "browser")
	if browser == "" {
		return false, false, nil
	}
	if client, err = s.store.HasConsent(r.Context(), clientApprovalKey(browser, req)); err != nil || !client {
		return false, false, storeOutage(err)
	}
	if req.Scope == "" {
		return false, true, nil // the request failed before its scope was known
	}
	exact, err = s.store.HasConsent(r.Context(), consentKey(browser, req))
	return exact, true, storeOutage(err)
}

func storeOutage(err error) error {
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// showConsent renders the consent page for a pending flow. The CSRF token
// is bound to a browser cookie and stored (hashed) with the flow (CD-03).
func (s *Server) showConsent(w http.ResponseWriter, r *http.Request, c *Client, req *Request) {
	flowID, err := s.secret("")
	csrf := s.cookie(r, "csrf")
	if err == nil && csrf == "" {
		csrf, err = s.secret("")
	}
	if err != nil {
		s.errorPage(w, r, "authorize", c.ID, unavailable(err))
		return
	}
	f := &Flow{Request: *req, CSRFHash: HashSecret(csrf), ExpiresAt: s.now().Add(s.cfg.FlowLifetime)}
	if err := s.store.PutFlow(r.Context(), HashSecret(flowID), f); err != nil {
		s.errorPage(w, r, "authorize", c.ID, unavailable(err))
		return
	}
	s.setCookie(w, "csrf", csrf, int(s.cfg.FlowLifetime.Seconds()))
	name := c.Metadata.ClientName
	if name == "" {
		name = "Unnamed client"
	}
	host, loopback := redirectHost(req.RedirectURI, c.Metadata.RedirectURIs)
	var appScheme string
	if u, err := url.Parse(req.RedirectURI); err == nil && isPrivateUseScheme(u) {
		appScheme = strings.ToLower(u.Scheme)
		if u.Host != "" {
			host = appScheme + "://" + u.Host
		}
	}
	s.log.InfoContext(r.Context(), "consent shown", "step", "authorize", "client_id", c.ID)
	renderPage(w, http.StatusOK, pageData{Title: "Authorize " + name, Consent: &consentView{
		ClientName: name, ClientID: c.ID, RedirectHost: host, AppScheme: appScheme, Loopback: loopback,
		Scopes: strings.Fields(req.Scope), Resource: req.Resource, FlowID: flowID, CSRF: csrf,
	}})
}

// redirectHost is what the consent page names as the code's destination,
// and whether every registered URI is a loopback one (RU-10).
func redirectHost(redirect string, registered []string) (string, bool) {
	host := redirect
	if u, err := url.Parse(redirect); err == nil {
		host = u.Host
		if host == "" {
			host = u.Scheme + ":"
		}
	}
	loopback := true
	for _, r := range registered {
		u, err := url.Parse(r)
		loopback = loopback && err == nil && u.Scheme == "http" && isLoopbackLiteral(u)
	}
	return host, loopback
}

// serveConsent handles the consent form: CSRF-checked, the flow consumed
// once, the client and redirect URI validated again against the current
// registration (never trusted from the form, RU-08).
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	if !s.sameOrigin(r) {
		s.errorPage(w, r, "consent", "", newError(http.StatusForbidden, "access_denied", "cross-site request refused"))
		return
	}
	p, err := parsePostForm(w, r)
	if err != nil {
		s.errorPage(w, r, "consent", "", err)
		return
	}
	f, err := s.takeConsentFlow(r, p)
	if err != nil {
		s.errorPage(w, r, "consent", "", err)
		return
	}
	req := &f.Request
	if _, err := s.revalidate(r, req); err != nil {
		s.errorPage(w, r, "consent", req.ClientID, err)
		return
	}
	if p.get("action") != "approve" {
		s.log.InfoContext(r.Context(), "consent denied", "step", "consent", "client_id", req.ClientID)
		s.redirectError(w, r, http.StatusSeeOther, "consent", req, newError(400, "access_denied", "the user denied the request"))
		return
	}
	s.startUpstream(w, r, http.StatusSeeOther, req)
}

// takeConsentFlow checks the form's CSRF token against the cookie and the
// flow, then consumes the flow.
func (s *Server) takeConsentFlow(r *http.Request, p params) (*Flow, error) {
	forbidden := newError(http.StatusForbidden, "access_denied", "the consent form is invalid or expired; start again")
	csrf, cookie := p.get("csrf"), s.cookie(r, "csrf")
	if csrf == "" || cookie == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(cookie)) != 1 {
		return nil, forbidden
	}
	return s.takeBoundFlow(r.Context(), HashSecret(p.get("flow")), csrf, func(f *Flow) string { return f.CSRFHash }, forbidden)
}

// sameOrigin refuses cross-site form posts: browsers send Origin (and
// Sec-Fetch-Site) on POST, and ours must be the issuer. Our pages send no
// referrer, so a browser posting their form says "Origin: null"; that is
// accepted only when the browser also vouches that the post came from our
// own origin. The CSRF token is checked besides.
func (s *Server) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		return false
	}
	switch o := r.Header.Get("Origin"); o {
	case "", s.cfg.Issuer:
		return true
	case "null":
		return site == "same-origin"
	}
	return false
}

// revalidate checks a carried request against the client as registered now.
func (s *Server) revalidate(r *http.Request, req *Request) (*Client, error) {
	c, err := s.store.GetClient(r.Context(), req.ClientID)
	if err != nil {
		return nil, storeErr(err, newError(400, "invalid_client", "the client no longer exists"))
	}
	if c.Version != req.ClientVersion || !matchRedirectURI(c.Metadata.RedirectURIs, req.RedirectURI) {
		return nil, newError(400, "invalid_request", "the client's registration changed; start again")
	}
	return c, nil
}

// startUpstream remembers the approval and sends the browser to GitHub with
// a fresh single-use state bound to this browser's cookie, which is set in
// this same response and never before consent (CD-05).
func (s *Server) startUpstream(w http.ResponseWriter, r *http.Request, status int, req *Request) {
	browser := s.cookie(r, "browser")
	state, err := s.secret("")
	if err == nil && browser == "" {
		browser, err = s.secret("")
	}
	if err != nil {
		s.errorPage(w, r, "authorize", req.ClientID, unavailable(err))
		return
	}
	now := s.now()
	ctx := r.Context()
	until := now.Add(s.cfg.ConsentLifetime)
	err = s.store.PutConsent(ctx, consentKey(browser, req), until)
	if err == nil {
		err = s.store.PutConsent(ctx, clientApprovalKey(browser, req), until)
	}
	if err == nil {
		f := &Flow{Request: *req, BrowserHash: HashSecret(browser), ExpiresAt: now.Add(s.cfg.FlowLifetime)}
		err = s.store.PutFlow(ctx, HashSecret(state), f)
	}
	if err != nil {
		s.errorPage(w, r, "authorize", req.ClientID, unavailable(err))
		return
	}
	s.setCookie(w, "browser", browser, int(s.cfg.ConsentLifetime.Seconds()))
	s.log.InfoContext(ctx, "consent given, redirecting to github", "step", "consent", "client_id", req.ClientID)
	pageHeaders(w.Header())
	http.Redirect(w, r, s.upstream.AuthCodeURL(state), status)
}

// redirectError sends a protocol error back to the client's validated
// redirect URI with state and iss, built with a URL encoder (AZ-03, MD-02).
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, status int, step string, req *Request, e *Error) {
	s.logFailure(r, step, req.ClientID, e)
	s.redirectClient(w, r, status, req, url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

// redirectClient adds v, state and iss to the client's redirect URI,
// keeping any query the URI was registered with.
func (s *Server) redirectClient(w http.ResponseWriter, r *http.Request, status int, req *Request, v url.Values) {
	u, _ := url.Parse(req.RedirectURI) // validated at registration and request
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	q.Set("iss", s.cfg.Issuer)
	u.RawQuery = q.Encode()
	pageHeaders(w.Header())
	w.Header().Set("Location", u.String())
	w.WriteHeader(status)
}
