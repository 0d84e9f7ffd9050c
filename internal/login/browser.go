package login

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Browser drives the user's side of a login: the authorization server's
// pages, the consent form and the fake GitHub (internal/fakegithub), which
// signs its user in without asking.
type Browser struct {
	// Client is a user agent like NewBrowser's: cookies, no redirect
	// followed.
	Client *http.Client
	// Issuer is the authorization server's origin.
	Issuer string
	// GitHub is the fake GitHub's base URL.
	GitHub string
	// Seen, when set, is told every reply of the authorization server, in
	// order (not GitHub's).
	Seen func(*Reply)
}

// Leg is one pass of the browser from /authorize back to the client.
type Leg struct {
	// GitHub is the GitHub authorize URL the server sent the browser to.
	GitHub *url.URL
	// Final is where the callback sent the browser: the client's redirect
	// URI, with a code or an error.
	Final *url.URL
	// Code, State and Iss are from Final's query (RFC 9207 iss).
	Code, State, Iss string
}

// Authorize opens authURL (a path is on the issuer), approves the consent page when the server shows
// one (a browser that approved the client before skips it), and follows
// the redirect to GitHub and Finish.
func (b *Browser) Authorize(authURL string) (*Leg, error) {
	r, err := b.get(authURL)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	if r.Status == http.StatusOK {
		cf, err := ParseConsent(r)
		if err != nil {
			return nil, err
		}
		if r, err = b.send(ConsentRequest(b.Issuer, cf, "approve")); err != nil {
			return nil, fmt.Errorf("consent: %w", err)
		}
	}
	leg := &Leg{}
	leg.GitHub, err = r.Redirect()
	if err != nil || !strings.HasPrefix(leg.GitHub.String(), b.GitHub+"/login/oauth/authorize?") {
		return nil, fmt.Errorf("want a redirect to GitHub, got %s", r)
	}
	return leg, b.Finish(leg)
}

// Finish follows leg.GitHub: the fake GitHub sends the browser to the
// issuer's /callback, which sends it to the client. It fills in the rest
// of leg.
func (b *Browser) Finish(leg *Leg) error {
	gh, err := get(b.Client, leg.GitHub.String())
	if err != nil {
		return fmt.Errorf("github: %w", err)
	}
	cb, err := gh.Redirect()
	if err != nil || gh.Status != http.StatusFound || !strings.HasPrefix(cb.String(), b.Issuer+"/callback?") {
		return fmt.Errorf("fake GitHub did not send the browser to /callback: %s", gh)
	}
	r, err := b.get(cb.String())
	if err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	if leg.Final, err = r.Redirect(); err != nil || r.Header.Get("Location") == "" {
		return fmt.Errorf("callback did not redirect to the client: %s", r)
	}
	q := leg.Final.Query()
	leg.Code, leg.State, leg.Iss = q.Get("code"), q.Get("state"), q.Get("iss")
	return nil
}

// get and send talk to the authorization server and tell Seen; a path is
// on the issuer.
func (b *Browser) get(u string) (*Reply, error) {
	if strings.HasPrefix(u, "/") {
		u = b.Issuer + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.send(req)
}

func (b *Browser) send(req *http.Request) (*Reply, error) {
	r, err := Send(b.Client, req)
	if err == nil && b.Seen != nil {
		b.Seen(r)
	}
	return r, err
}
