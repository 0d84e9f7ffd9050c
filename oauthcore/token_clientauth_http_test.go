package oauthcore_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// basicHeader is an Authorization header with the given scheme.
func basicHeader(scheme, id, secret string) string {
	return scheme + " " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// TestTokenClientAuthentication_CL01_CL02_CL06: a confidential client must
// present its secret, in exactly one transport (Basic or the body,
// whichever it registered); a public client must present none. Basic is
// parsed as RFC 6749 §2.3.1 says; every failure is 401 invalid_client with
// a Basic challenge, looks the same whatever the cause, and burns nothing.
func TestTokenClientAuthentication_CL01_CL02_CL06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bc, pc, pub := h.newClient(authBasic), h.newClient(authPost), h.newClient(authPublic)
	b := h.newBrowser()
	f := b.mustLogin(bc, nil)
	with := func(kv ...string) url.Values {
		form := codeForm(f)
		for i := 0; i < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return form
	}
	failures := []struct {
		name string
		form url.Values
		auth string
	}{
		{"CL-01 nothing at all", codeForm(f), ""},
		{"CL-01 basic client without a secret", with("client_id", bc.ID), ""},
		{"CL-01 empty secret in the body", with("client_id", bc.ID, "client_secret", ""), ""},
		{"CL-01 wrong secret in the body", with("client_id", bc.ID, "client_secret", bc.Secret+"x"), ""},
		{"CL-01 Basic and a body secret together", with("client_secret", bc.Secret), basicHeader("Basic", bc.ID, bc.Secret)},
		{"CL-01 wrong secret", codeForm(f), basicHeader("Basic", bc.ID, bc.Secret+"x")},
		{"CL-01 another client's secret", codeForm(f), basicHeader("Basic", bc.ID, pc.Secret)},
		{"CL-02 Basic !!!", codeForm(f), "Basic !!!"},
		{"CL-02 Basic without a colon", codeForm(f), "Basic " + base64.StdEncoding.EncodeToString([]byte(bc.ID))},
		{"CL-02 %3A appended to the secret", codeForm(f), basicHeader("Basic", bc.ID, bc.Secret+"%3A")},
		{"CL-02 bad percent-encoding", codeForm(f), basicHeader("Basic", bc.ID, bc.Secret+"%zz")},
		{"CL-02 Bearer scheme", codeForm(f), "Bearer " + bc.Secret},
		{"CL-02 Basic for another client id in the body", with("client_id", pub.ID), basicHeader("Basic", bc.ID, bc.Secret)},
		{"CL-01 post client without a secret", with("client_id", pc.ID), ""},
		{"CL-01 public client presenting a secret", with("client_id", pub.ID, "client_secret", "anything"), ""},
		{"CL-01 public client using Basic", codeForm(f), basicHeader("Basic", pub.ID, "")},
		{"CL-06 unknown client", codeForm(f), basicHeader("Basic", "client_doesnotexist0000000", bc.Secret)},
		{"CL-06 unknown public-style client", with("client_id", "client_doesnotexist0000000"), ""},
	}
	var first *reply
	for _, tc := range failures {
		r := h.tokenWith(tc.form, tc.auth)
		wantOAuthError(t, tc.name, r, http.StatusUnauthorized, "invalid_client")
		if r.Header.Get("WWW-Authenticate") != `Basic realm="oauth"` {
			t.Errorf("%s: WWW-Authenticate %q, want a Basic challenge", tc.name, r.Header.Get("WWW-Authenticate"))
		}
		if first == nil {
			first = r
		} else if r.Body != first.Body {
			t.Errorf("CL-06 %s: the body %q differs from %q", tc.name, r.Body, first.Body)
		}
	}
	h.parseTokens(h.tokenWith(codeForm(f), basicHeader("Basic", bc.ID, bc.Secret)))

	successes := []struct {
		name  string
		c     *testClient
		login *browser
		form  func(url.Values) url.Values
		auth  func() string
	}{
		{"CL-02 lowercase scheme", bc, b, nil, func() string { return basicHeader("basic", bc.ID, bc.Secret) }},
		{"CL-02 percent-encoded secret", bc, b, nil, func() string {
			return basicHeader("BASIC", url.QueryEscape(bc.ID), fmt.Sprintf("%%%02X", bc.Secret[0])+bc.Secret[1:])
		}},
		{"CL-02 Basic with the same client_id in the body", bc, b, func(v url.Values) url.Values { v.Set("client_id", bc.ID); return v },
			func() string { return basicHeader("Basic", bc.ID, bc.Secret) }},
		{"basic client, secret in the body", bc, b, func(v url.Values) url.Values {
			v.Set("client_id", bc.ID)
			v.Set("client_secret", bc.Secret)
			return v
		}, func() string { return "" }},
		{"post client using Basic", pc, h.newBrowser(), nil, func() string { return basicHeader("Basic", pc.ID, pc.Secret) }},
		{"public client by client_id", pub, h.newBrowser(), func(v url.Values) url.Values { v.Set("client_id", pub.ID); return v },
			func() string { return "" }},
	}
	for _, tc := range successes {
		f := tc.login.mustLogin(tc.c, nil)
		form := codeForm(f)
		if tc.form != nil {
			form = tc.form(form)
		}
		if r := h.tokenWith(form, tc.auth()); r.Status != http.StatusOK {
			t.Errorf("%s: %s", tc.name, r)
		}
	}
}

// TestTokenSecretExpiry_CL07: a confidential client whose secret expired
// (client_secret_expires_at, the client lifetime) cannot authenticate.
func TestTokenSecretExpiry_CL07(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.ClientLifetime = time.Hour })
	c := h.newClient(authPost)
	if exp, _ := c.Resp["client_secret_expires_at"].(float64); exp == 0 {
		t.Fatal("CL-07: client_secret_expires_at is 0 with a one-hour client lifetime")
	}
	f := h.newBrowser().mustLogin(c, nil)
	h.clock.Advance(time.Hour + time.Second)
	wantOAuthError(t, "CL-07 an expired secret", h.redeem(c, f, nil), http.StatusUnauthorized, "invalid_client")
}
