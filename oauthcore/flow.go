package oauthcore

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
)

// browserFlows carries an authorization request through the browser:
// /authorize → consent page → /consent → GitHub → /callback. It owns the
// cookies that bind each step to the browser that started it, the
// remembered approvals, the pending flows, and the redirects back to the
// client. The endpoints in authorize.go, consent.go and callback.go are
// built on it.
type browserFlows struct {
	*env
	clients  *clientResolver
	flows    FlowStore
	consents ConsentStore
	upstream Upstream
	// trusted are the hosts whose document clients the consent page shows
	// as verified.
	trusted *cimd.HostPatterns
}

// Cookie names; with an https issuer they carry the __Host- prefix, which
// makes the browser insist on Secure, Path=/ and no Domain (CD-06).
func (b *browserFlows) cookieName(base string) string {
	if b.secureCookies() {
		return "__Host-mcpoauth_" + base
	}
	return "mcpoauth_" + base
}

func (b *browserFlows) secureCookies() bool { return strings.HasPrefix(b.cfg.Issuer, "https://") }

func (b *browserFlows) setCookie(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: b.cookieName(base), Value: value, Path: "/", MaxAge: maxAge,
		Secure: b.secureCookies(), HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// cookie returns our cookie base, or "" when it is missing or not one of
// our 43-character secrets.
func (b *browserFlows) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(b.cookieName(base))
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
	if u, err := url.Parse(redirect); err == nil && u.Scheme == "http" && isLoopbackURL(u) {
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
func (b *browserFlows) hasConsent(r *http.Request, req *Request) (exact, client bool, err error) {
	browser := b.cookie(r, "browser")
	if browser == "" {
		return false, false, nil
	}
	if client, err = b.consents.HasConsent(r.Context(), clientApprovalKey(browser, req)); err != nil || !client {
		return false, false, outage(err)
	}
	if req.Scope == "" {
		return false, true, nil // the request failed before its scope was known
	}
	exact, err = b.consents.HasConsent(r.Context(), consentKey(browser, req))
	return exact, true, outage(err)
}

// takeBound consumes the flow stored under key if secret matches the hash
// the flow is bound to (its CSRF token, or its browser cookie). Checking
// before consuming means a request with the wrong secret cannot burn
// someone else's flow.
func (b *browserFlows) takeBound(ctx context.Context, key, secret string, bound func(*Flow) string, bad *Error) (*Flow, error) {
	f, err := b.flows.GetFlow(ctx, key)
	if err != nil {
		return nil, storeErr(err, bad)
	}
	if h := bound(f); h == "" || !hashMatches(secret, h) {
		return nil, bad
	}
	if f, err = b.flows.TakeFlow(ctx, key); err != nil {
		return nil, storeErr(err, bad)
	}
	return f, nil
}

// revalidate checks a carried request against the client as registered
// now: a flow never outlives an RFC 7592 update or deletion (RU-08), nor
// a metadata document that dropped the redirect URI or went bad.
func (b *browserFlows) revalidate(r *http.Request, req *Request) (*Client, error) {
	c, err := b.clients.client(r, req.ClientID)
	if err != nil {
		return nil, clientPageErr(err, NewError(400, CodeInvalidClient, "the client no longer exists"))
	}
	if c.Version != req.ClientVersion || !matchRedirectURI(c.Metadata.RedirectURIs, req.RedirectURI) {
		return nil, invalidRequest("the client's registration changed; start again")
	}
	return c, nil
}

// startUpstream remembers the approval and sends the browser to GitHub with
// a fresh single-use state bound to this browser's cookie, which is set in
// this same response and never before consent (CD-05).
func (b *browserFlows) startUpstream(w http.ResponseWriter, r *http.Request, status int, req *Request) {
	browser := b.cookie(r, "browser")
	state, err := b.secret("")
	if err == nil && browser == "" {
		browser, err = b.secret("")
	}
	if err != nil {
		b.errorPage(w, r, "authorize", req.ClientID, unavailable(err))
		return
	}
	now := b.now()
	ctx := r.Context()
	until := now.Add(b.cfg.ConsentLifetime)
	err = b.consents.PutConsent(ctx, consentKey(browser, req), until)
	if err == nil {
		err = b.consents.PutConsent(ctx, clientApprovalKey(browser, req), until)
	}
	if err == nil {
		f := &Flow{Request: *req, BrowserHash: HashSecret(browser), ExpiresAt: now.Add(b.cfg.FlowLifetime)}
		err = b.flows.PutFlow(ctx, HashSecret(state), f)
	}
	if err != nil {
		b.errorPage(w, r, "authorize", req.ClientID, unavailable(err))
		return
	}
	b.setCookie(w, "browser", browser, int(b.cfg.ConsentLifetime.Seconds()))
	b.log.InfoContext(ctx, "consent given, redirecting to github", "step", "consent", "client_id", req.ClientID)
	pageHeaders(w.Header())
	http.Redirect(w, r, b.upstream.AuthCodeURL(state), status)
}

// redirectError sends a protocol error back to the client's validated
// redirect URI with state and iss, built with a URL encoder (AZ-03, MD-02).
func (b *browserFlows) redirectError(w http.ResponseWriter, r *http.Request, status int, step string, req *Request, e *Error) {
	b.logFailure(r, step, req.ClientID, e)
	b.redirectClient(w, r, status, req, url.Values{"error": {string(e.Code)}, "error_description": {e.Description}})
}

// redirectClient adds v, state and iss (RFC 9207) to the client's redirect
// URI, keeping any query the URI was registered with.
func (b *browserFlows) redirectClient(w http.ResponseWriter, r *http.Request, status int, req *Request, v url.Values) {
	u, _ := url.Parse(req.RedirectURI) // validated at registration and request
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	q.Set("iss", b.cfg.Issuer)
	u.RawQuery = q.Encode()
	pageHeaders(w.Header())
	w.Header().Set("Location", u.String())
	w.WriteHeader(status)
}
