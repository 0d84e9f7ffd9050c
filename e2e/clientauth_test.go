package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// codeForm is the authorization_code grant for f without client auth.
func codeForm(f *flow) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {f.Code},
		"redirect_uri": {f.Req.Query.Get("redirect_uri")}, "code_verifier": {f.Req.Verifier}}
}

// tokenWith posts form to /token with an optional raw Authorization header.
func (e *env) tokenWith(form url.Values, authorization string) *response {
	e.t.Helper()
	req := formRequest(e.url("/token"), form)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return e.do(e.api, req)
}

func basicHeader(scheme, id, secret string) string {
	return scheme + " " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// TestClientAuthentication_CL01_CL02_CL06: confidential clients must
// present their secret, in exactly one transport (Basic or the body,
// whichever they registered); Basic is parsed
// leniently where RFC 6749 says so and strictly elsewhere; failures look
// the same whatever the cause and do not burn the code.
func TestClientAuthentication_CL01_CL02_CL06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	bc := e.newClient(basic)
	pc := e.newClient(post)
	pub := e.newClient(public)
	b := e.newBrowser()
	b.approveOnce(bc)
	f := b.login(bc, nil)

	withForm := func(extra map[string]string) url.Values {
		form := codeForm(f)
		for k, v := range extra {
			form.Set(k, v)
		}
		return form
	}
	failures := []struct {
		name string
		form url.Values
		auth string
	}{
		{"CL-01 basic client without a secret", withForm(map[string]string{"client_id": bc.ID}), ""},
		{"CL-01 basic client, wrong secret in the body", withForm(map[string]string{"client_id": bc.ID, "client_secret": bc.Secret + "x"}), ""},
		{"CL-01 Basic and a body secret together", withForm(map[string]string{"client_secret": bc.Secret}), basicHeader("Basic", bc.ID, bc.Secret)},
		{"CL-01 wrong secret", codeForm(f), basicHeader("Basic", bc.ID, bc.Secret+"x")},
		{"CL-02 Basic !!!", codeForm(f), "Basic !!!"},
		{"CL-02 Basic without a colon", codeForm(f), "Basic " + base64.StdEncoding.EncodeToString([]byte(bc.ID))},
		{"CL-02 %3A appended to the secret", codeForm(f), basicHeader("Basic", bc.ID, bc.Secret+"%3A")},
		{"CL-02 bad percent-encoding", codeForm(f), basicHeader("Basic", bc.ID, bc.Secret+"%zz")},
		{"CL-02 Bearer scheme", codeForm(f), "Bearer " + bc.Secret},
		{"CL-02 Basic for another client id in the body", withForm(map[string]string{"client_id": pub.ID}), basicHeader("Basic", bc.ID, bc.Secret)},
	}
	for _, c := range failures {
		r := e.tokenWith(c.form, c.auth)
		wantStatus(t, c.name, r, http.StatusUnauthorized, "invalid_client")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q, want a Basic challenge", c.name, r.Header.Get("WWW-Authenticate"))
		}
	}
	// None of those burned the code.
	wantStatus(t, "the code after failed authentications", e.tokenWith(codeForm(f), basicHeader("Basic", bc.ID, bc.Secret)), http.StatusOK, "")

	// CL-02: the scheme is case-insensitive; both parts are form-decoded.
	f = b.login(bc, nil)
	wantStatus(t, "CL-02 authorization: basic (lowercase)", e.tokenWith(codeForm(f), basicHeader("basic", bc.ID, bc.Secret)), http.StatusOK, "")
	f = b.login(bc, nil)
	encoded := fmt.Sprintf("%%%02X", bc.Secret[0]) + bc.Secret[1:]
	wantStatus(t, "CL-02 percent-encoded secret", e.tokenWith(codeForm(f), basicHeader("BASIC", bc.ID, encoded)), http.StatusOK, "")

	// A confidential client may use either transport whatever it
	// registered (issue 7: Codex registers post and sends Basic); a public
	// client must present no secret.
	pf := e.newBrowser().login(pc, nil)
	wantStatus(t, "CL-01 post client without a secret", e.tokenWith(withID(codeForm(pf), pc.ID), ""), http.StatusUnauthorized, "invalid_client")
	wantStatus(t, "post client using Basic", e.tokenWith(codeForm(pf), basicHeader("Basic", pc.ID, pc.Secret)), http.StatusOK, "")
	pf = e.newBrowser().login(pc, nil)
	wantStatus(t, "post client, secret in the body", e.call(pc, "/token", codeForm(pf)), http.StatusOK, "")
	bf := b.login(bc, nil)
	wantStatus(t, "basic client, secret in the body", e.tokenWith(withSecret(codeForm(bf), bc.ID, bc.Secret), ""), http.StatusOK, "")
	uf := e.newBrowser().login(pub, nil)
	form := withID(codeForm(uf), pub.ID)
	form.Set("client_secret", "anything")
	wantStatus(t, "CL-01 public client presenting a secret", e.tokenWith(form, ""), http.StatusUnauthorized, "invalid_client")

	// CL-06: unknown client and wrong secret answer identically.
	unknown := e.tokenWith(codeForm(f), basicHeader("Basic", "client_doesnotexist0000000", bc.Secret))
	wrong := e.tokenWith(codeForm(f), basicHeader("Basic", bc.ID, "wrong-secret"))
	if unknown.Status != wrong.Status || unknown.Body != wrong.Body ||
		unknown.Header.Get("WWW-Authenticate") != wrong.Header.Get("WWW-Authenticate") {
		t.Errorf("CL-06: unknown client %d %q %q vs wrong secret %d %q %q", unknown.Status, unknown.Body,
			unknown.Header.Get("WWW-Authenticate"), wrong.Status, wrong.Body, wrong.Header.Get("WWW-Authenticate"))
	}
	unknownPost := e.tokenWith(withID(codeForm(f), "client_doesnotexist0000000"), "")
	if unknownPost.Body != wrong.Body || unknownPost.Status != wrong.Status {
		t.Errorf("CL-06: unknown public-style client %d %q vs wrong secret %d %q", unknownPost.Status, unknownPost.Body, wrong.Status, wrong.Body)
	}
}

func withID(form url.Values, id string) url.Values {
	form.Set("client_id", id)
	return form
}

func withSecret(form url.Values, id, secret string) url.Values {
	form.Set("client_id", id)
	form.Set("client_secret", secret)
	return form
}
