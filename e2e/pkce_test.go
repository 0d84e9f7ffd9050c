package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestPKCE_PK01_PK02_PK03_PK04_PK06: PKCE with S256 is required at
// /authorize with the right syntax, and at /token every bad verifier is
// invalid_grant and burns the code.
func TestPKCE_PK01_PK02_PK03_PK04_PK06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	fresh := e.newBrowser()
	for name, mod := range map[string]func(url.Values){
		"PK-01 no code_challenge":       func(q url.Values) { q.Del("code_challenge") },
		"PK-01 no challenge, no method": func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"PK-02 method plain":            func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"PK-02 method omitted":          func(q url.Values) { q.Del("code_challenge_method") },
		"PK-02 method S512":             func(q url.Values) { q.Set("code_challenge_method", "S512") },
		"PK-02 method s256":             func(q url.Values) { q.Set("code_challenge_method", "s256") },
		"PK-03 challenge abc":           func(q url.Values) { q.Set("code_challenge", "abc") },
		"PK-03 challenge 44 chars":      func(q url.Values) { q.Set("code_challenge", q.Get("code_challenge")+"A") },
		"PK-03 challenge with +":        func(q url.Values) { q.Set("code_challenge", "+"+q.Get("code_challenge")[1:]) },
		"PK-03 challenge padded":        func(q url.Values) { q.Set("code_challenge", q.Get("code_challenge")[1:]+"=") },
	} {
		a := newAuthReq(c)
		mod(a.Query)
		r := e.get(fresh.c, a.path())
		wantLocalPage(t, name, r, http.StatusBadRequest)
		if !strings.Contains(r.Body, "invalid_request") {
			t.Errorf("%s: page does not say invalid_request: %s", name, textOf(r.Body))
		}
	}
	if e.gh.Contacted() {
		t.Error("PK-01: GitHub was contacted for a request without valid PKCE")
	}

	b := e.newBrowser()
	b.approveOnce(c)
	valid := oauth2.GenerateVerifier()
	badVerifiers := map[string]*string{
		"missing":   nil,
		"empty":     ptr(""),
		"42 chars":  ptr(valid[:42]),
		"129 chars": ptr(strings.Repeat("a", 129)),
		"with !":    ptr("!" + valid[1:]),
		"with %20":  ptr(valid[:42] + " "),
		"wrong":     ptr(valid),
	}
	for name, v := range badVerifiers {
		f := b.login(c, nil)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {f.Code}, "redirect_uri": {c.RedirectURIs[0]}}
		if v != nil {
			form.Set("code_verifier", *v)
		}
		wantStatus(t, "PK-04 verifier "+name, e.call(c, "/token", form), http.StatusBadRequest, "invalid_grant")
	}
	// The challenge itself is not a verifier for it.
	f := b.login(c, nil)
	r := e.redeem(c, f, url.Values{"code_verifier": {f.Req.Query.Get("code_challenge")}})
	wantStatus(t, "PK-04 challenge as verifier", r, http.StatusBadRequest, "invalid_grant")

	// PK-06: a failed verification burns the code.
	f = b.login(c, nil)
	wantStatus(t, "PK-06 wrong verifier", e.redeem(c, f, url.Values{"code_verifier": {valid}}), http.StatusBadRequest, "invalid_grant")
	wantStatus(t, "PK-06 right verifier after a wrong one", e.redeem(c, f, nil), http.StatusBadRequest, "invalid_grant")

	// AC-08: flow A's code with flow B's verifier.
	fa, fb := b.login(c, nil), b.login(c, nil)
	r = e.redeem(c, fa, url.Values{"code_verifier": {fb.Req.Verifier}})
	wantStatus(t, "AC-08 code of one flow, verifier of another", r, http.StatusBadRequest, "invalid_grant")
	e.exchange(c, b.login(c, nil)) // and the happy path still works
}

func ptr(s string) *string { return &s }
