package oauthcore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestTokenCodeExchange_RT01_MD05_RU09: a redeemed code answers RFC 6749
// §5.1: JSON, no caching, a Bearer access token living the configured
// lifetime, the granted scope and a refresh token for a client that
// registered the grant; CORS lets browser clients read it. redirect_uri
// may be omitted (OAuth 2.1 §4.1.3).
func TestTokenCodeExchange_RT01_MD05_RU09(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.AccessTokenLifetime = 15 * time.Minute })
	c := h.newClient(authBasic)
	b := h.newBrowser()
	tok := h.exchange(c, b.mustLogin(c, nil))
	hd := tok.Resp.Header
	if hd.Get("Cache-Control") != "no-store" || hd.Get("Pragma") != "no-cache" || !strings.HasPrefix(hd.Get("Content-Type"), "application/json") {
		t.Errorf("MD-05: Cache-Control %q Pragma %q Content-Type %q", hd.Get("Cache-Control"), hd.Get("Pragma"), hd.Get("Content-Type"))
	}
	if hd.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("MD-04: Access-Control-Allow-Origin %q, want *", hd.Get("Access-Control-Allow-Origin"))
	}
	if tok.Type != "Bearer" || tok.ExpiresIn != 900 || tok.Scope != "mcp" || tok.Refresh == "" || tok.Refresh == tok.Access {
		t.Errorf("RT-01: type %q expires_in %v scope %q refresh %t", tok.Type, tok.ExpiresIn, tok.Scope, tok.Refresh != "")
	}
	claims, err := h.verify(tok.Access)
	if err != nil || claims.ClientID != c.ID || claims.Issuer != asIssuer || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 15*time.Minute {
		t.Errorf("the access token: %+v %v", claims, err)
	}

	f := b.mustLogin(c, nil)
	h.parseTokens(h.redeem(c, f, url.Values{"redirect_uri": nil}))

	// A client that did not register refresh_token gets no refresh token.
	m := clientMeta(authBasic)
	m["grant_types"] = []string{"authorization_code"}
	only := h.registerMeta(m)
	tok = h.exchange(only, b.mustLogin(only, nil))
	if tok.Refresh != "" {
		t.Error("RT-01: a client without the refresh_token grant got a refresh token")
	}
	wantOAuthError(t, "refresh by a client without the grant", h.refresh(only, "x", nil), http.StatusBadRequest, "unauthorized_client")
}

// TestTokenRequestShape_MD06: /token takes a form POST only, parameters in
// the body only, each once, within 16 KiB; errors are JSON, never 500.
func TestTokenRequestShape_MD06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	f := h.newBrowser().mustLogin(c, nil)
	form := codeForm(f)
	form.Set("client_id", c.ID)
	post := func(ctype, query string, body string) *reply {
		req := httptest.NewRequest(http.MethodPost, asIssuer+"/token"+query, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return h.serve(req)
	}
	with := func(k, v string) string {
		f := url.Values{}
		for key, vals := range form {
			f[key] = vals
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f.Encode()
	}
	cases := []struct {
		name   string
		r      *reply
		status int
		code   string
	}{
		{"JSON body", post("application/json", "", `{"grant_type":"authorization_code"}`), 400, "invalid_request"},
		{"two content types", post("application/json, application/x-www-form-urlencoded", "", form.Encode()), 400, "invalid_request"},
		{"no content type", post("", "", form.Encode()), 400, "invalid_request"},
		{"parameters in the query", post("application/x-www-form-urlencoded", "?"+form.Encode(), ""), 400, "invalid_request"},
		{"code twice", post("application/x-www-form-urlencoded", "", form.Encode()+"&code=x"), 400, "invalid_request"},
		{"17 KiB body", post("application/x-www-form-urlencoded", "", form.Encode()+"&pad="+strings.Repeat("x", 17<<10)), 413, "invalid_request"},
		{"bad form encoding", post("application/x-www-form-urlencoded", "", "code=%zz&"+form.Encode()), 400, "invalid_request"},
		{"no grant_type", post("application/x-www-form-urlencoded", "", with("grant_type", "")), 400, "invalid_request"},
		{"grant_type password", post("application/x-www-form-urlencoded", "", with("grant_type", "password")), 400, "unsupported_grant_type"},
		{"grant_type client_credentials", post("application/x-www-form-urlencoded", "", with("grant_type", "client_credentials")), 400, "unsupported_grant_type"},
		{"no code", post("application/x-www-form-urlencoded", "", with("code", "")), 400, "invalid_request"},
		{"unknown code", post("application/x-www-form-urlencoded", "", with("code", strings.Repeat("A", 43))), 400, "invalid_grant"},
	}
	for _, tc := range cases {
		wantOAuthError(t, tc.name, tc.r, tc.status, tc.code)
	}
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		if r := h.serve(request(method, "/token", nil)); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
			t.Errorf("%s /token: %s, want 405 Allow: POST", method, r)
		}
	}
	pre := request(http.MethodOptions, "/token", nil)
	pre.Header.Set("Origin", "https://inspector.test")
	if r := h.serve(pre); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("MD-04: preflight of /token: %s, want 204 with CORS", r)
	}
	// None of the refused requests burned the code.
	h.parseTokens(h.redeem(c, f, nil))
}

// TestTokenPKCE_PK04_PK06_AC08: every bad code_verifier is invalid_grant;
// the verifier of another flow does not fit (code injection); a failed
// verification burns the code.
func TestTokenPKCE_PK04_PK06_AC08(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	b := h.newBrowser()
	valid := oauth2.GenerateVerifier()
	other := b.mustLogin(c, nil)
	cases := []struct {
		name     string
		verifier []string // nil: parameter omitted
	}{
		{"missing", nil},
		{"empty", []string{""}},
		{"42 chars", []string{valid[:42]}},
		{"129 chars", []string{strings.Repeat("a", 129)}},
		{"with !", []string{"!" + valid[1:]}},
		{"with a space", []string{valid[:42] + " "}},
		{"another verifier", []string{valid}},
		{"AC-08 another flow's verifier", []string{other.Req.Verifier}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			f := b.mustLogin(c, nil)
			wantOAuthError(t, "PK-04 verifier "+tc.name, h.redeem(c, f, url.Values{"code_verifier": tc.verifier}),
				http.StatusBadRequest, "invalid_grant")
		})
	}
	t.Run("the challenge as verifier", func(t *testing.T) {
		t.Parallel()
		f := b.mustLogin(c, nil)
		r := h.redeem(c, f, url.Values{"code_verifier": {f.Req.Query.Get("code_challenge")}})
		wantOAuthError(t, "PK-04", r, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("PK-06 burns the code", func(t *testing.T) {
		t.Parallel()
		f := b.mustLogin(c, nil)
		wantOAuthError(t, "a wrong verifier", h.redeem(c, f, url.Values{"code_verifier": {valid}}), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, "the right verifier after a wrong one", h.redeem(c, f, nil), http.StatusBadRequest, "invalid_grant")
	})
}

// TestTokenCodeSingleUse_AC03: of 50 concurrent redemptions of one code
// exactly one gets tokens; the others are invalid_grant, and since they
// are replays, the tokens the winner got are revoked too (AC-04).
func TestTokenCodeSingleUse_AC03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	f := h.newBrowser().mustLogin(c, nil)
	const n = 50
	results := make([]*reply, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		req := h.clientRequest(c, "/token", codeForm(f))
		wg.Go(func() {
			<-start
			results[i] = h.serve(req)
		})
	}
	close(start)
	wg.Wait()
	ok, grant, other := 0, 0, map[string]int{}
	var winner tokenSet
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK:
			ok++
			winner = h.parseTokens(r)
		case r.Status == http.StatusBadRequest && r.oauthError() == "invalid_grant":
			grant++
		default:
			other[r.String()]++
		}
	}
	if ok != 1 || grant != n-1 {
		t.Fatalf("AC-03: %d × 200, %d × invalid_grant, others %v; want exactly one 200", ok, grant, other)
	}
	if h.valid(winner.Access) {
		t.Error("AC-04: the winner's access token survived 49 replays of its code")
	}
	wantOAuthError(t, "AC-04 the winner's refresh token", h.refresh(c, winner.Refresh, nil), http.StatusBadRequest, "invalid_grant")
}

// TestTokenCodeReplay_AC04: replaying a redeemed code is invalid_grant and
// revokes everything the code produced: its access token at the gate, its
// refresh token, and the refresh token's successors.
func TestTokenCodeReplay_AC04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	other := h.newClient(authBasic)
	for _, replayer := range []*testClient{c, other} {
		f, tok := h.fullFlow(c)
		next := h.parseTokens(h.refresh(c, tok.Refresh, nil))
		if !h.valid(tok.Access) || !h.valid(next.Access) {
			t.Fatal("the fresh access tokens are not valid")
		}
		_, keep := h.fullFlow(c)
		wantOAuthError(t, "AC-04 replay", h.redeem(replayer, f, nil), http.StatusBadRequest, "invalid_grant")
		if h.valid(tok.Access) || h.valid(next.Access) {
			t.Error("AC-04: an access token of the replayed code is still accepted at the gate")
		}
		wantOAuthError(t, "AC-04 the rotated refresh token", h.refresh(c, next.Refresh, nil), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, "AC-04 the first refresh token", h.refresh(c, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
		if !h.valid(keep.Access) {
			t.Error("AC-04: a replay revoked the tokens of another code")
		}
		h.parseTokens(h.refresh(c, keep.Refresh, nil))
	}
}

// TestTokenCodeBinding_AC05_RU09: a code is bound to the client it was
// issued to (and that client's registration), and to the redirect URI
// used at /authorize when the token request names one. Each mismatch
// burns the code.
func TestTokenCodeBinding_AC05_RU09(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic, "https://app.test/cb", "http://127.0.0.1:4000/cb")
	otherBasic := h.newClient(authBasic, "https://app.test/cb", "http://127.0.0.1:4000/cb")
	otherPublic := h.newClient(authPublic, "https://app.test/cb")
	b := h.newBrowser()
	cases := []struct {
		name  string
		login func(*authRequest)
		as    *testClient
		extra url.Values
	}{
		{"AC-05 another confidential client", nil, otherBasic, nil},
		{"AC-05 a public client", nil, otherPublic, nil},
		{"RU-09 another registered redirect URI", nil, c, url.Values{"redirect_uri": {"http://127.0.0.1:4000/cb"}}},
		{"RU-09 a redirect URI with a trailing slash", nil, c, url.Values{"redirect_uri": {"https://app.test/cb/"}}},
		{"RU-09 the loopback URI on another port than used", func(a *authRequest) {
			a.Query.Set("redirect_uri", "http://127.0.0.1:5555/cb")
		}, c, url.Values{"redirect_uri": {"http://127.0.0.1:4000/cb"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			f := b.mustLogin(c, tc.login)
			wantOAuthError(t, tc.name, h.redeem(tc.as, f, tc.extra), http.StatusBadRequest, "invalid_grant")
			wantOAuthError(t, "the right request afterwards", h.redeem(c, f, nil), http.StatusBadRequest, "invalid_grant")
		})
	}
	t.Run("the loopback port used at /authorize", func(t *testing.T) {
		t.Parallel()
		h := h.sub(t)
		f := b.mustLogin(c, func(a *authRequest) { a.Query.Set("redirect_uri", "http://127.0.0.1:5555/cb") })
		if f.Final.Host != "127.0.0.1:5555" {
			t.Errorf("the code went to %v", f.Final)
		}
		h.exchange(c, f)
	})
}

// TestTokenCodeAfterClientUpdate_AC05: a code issued before an RFC 7592
// update of its client is void: the registration it was issued for no
// longer exists.
func TestTokenCodeAfterClientUpdate_AC05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	f := h.newBrowser().mustLogin(c, nil)
	h.updateClient(c, c.RedirectURIs...)
	wantOAuthError(t, "a code from before the update", h.redeem(c, f, nil), http.StatusBadRequest, "invalid_grant")
	h.fullFlow(c)
}

// TestTokenInvalidTargetKeepsCode_AC06: a token request naming a resource
// other than the authorized one is invalid_target, and the code survives
// it (RFC 8707 §2.2): the correct request then succeeds.
func TestTokenInvalidTargetKeepsCode_AC06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	b := h.newBrowser()
	const res = "https://mcp.test/mcp"
	f := b.mustLogin(c, func(a *authRequest) { a.Query.Set("resource", res) })
	bad := [][]string{
		{"https://other.test/mcp"}, {"https://mcp.test/mcp-other"}, {"https://mcp.test/mcp/x"}, {"https://mcp.test/mcp#x"},
		{"mcp"}, {"http://mcp.test/mcp"}, {res, "https://other.test/mcp"},
	}
	for _, rs := range bad {
		wantOAuthError(t, fmt.Sprintf("AC-06 resource %q", rs), h.redeem(c, f, url.Values{"resource": rs}), http.StatusBadRequest, "invalid_target")
	}
	tok := h.parseTokens(h.redeem(c, f, url.Values{"resource": {"HTTPS://mcp.test/mcp/"}}))
	if claims, err := h.verify(tok.Access); err != nil || claims.Aud() != res {
		t.Errorf("aud %q (%v), want %q", claimsAud(claims), err, res)
	}

	// A code issued without a resource has the issuer as audience: asking
	// for a resource at the token endpoint cannot widen it.
	f = b.mustLogin(c, nil)
	wantOAuthError(t, "AC-06 a resource for a code without one", h.redeem(c, f, url.Values{"resource": {res}}), http.StatusBadRequest, "invalid_target")
	h.exchange(c, f)
}

// TestTokenCodeExpiry_AC02: a code lives the code lifetime, not a second
// more.
func TestTokenCodeExpiry_AC02(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.CodeLifetime = 30 * time.Second })
	c := h.newClient(authBasic)
	b := h.newBrowser()
	fresh, old := b.mustLogin(c, nil), b.mustLogin(c, nil)
	h.clock.Advance(25 * time.Second)
	h.exchange(c, fresh)
	h.clock.Advance(6 * time.Second)
	wantOAuthError(t, "AC-02 a code after its lifetime", h.redeem(c, old, nil), http.StatusBadRequest, "invalid_grant")
	h.exchange(c, b.mustLogin(c, nil))
}

// TestTokenStoreOutage_RD03: a store failing during the code exchange is
// 503 temporarily_unavailable with Retry-After, never invalid_grant (which
// a client takes as final), never the store's error text.
func TestTokenStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"GetClient", "ConsumeCode", "CreateGrant"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			var fs *faultStore
			h := newHarness(t, withFaults(&fs))
			c := h.newClient(authBasic)
			f := h.newBrowser().mustLogin(c, nil)
			fs.fail(method)
			r := h.redeem(c, f, nil)
			fs.heal()
			wantOAuthError(t, method+" failing", r, http.StatusServiceUnavailable, "temporarily_unavailable")
			if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") {
				t.Errorf("Retry-After %q, body %s", r.Header.Get("Retry-After"), r.Body)
			}
			if method == "GetClient" {
				h.exchange(c, f) // the code was not touched
			}
		})
	}
}

// TestTokenReplayWaitIsBoundedWithAnInjectedClock_PK06: a replay of a code
// whose first redemption failed (here a wrong PKCE verifier, so no grant
// was ever recorded on the tombstone) waits a bounded time for that grant
// and then answers invalid_grant. The bound must hold whatever clock the
// server was given (Options.Now): with a stopped test clock the request
// must not spin until its context ends.
func TestTokenReplayWaitIsBoundedWithAnInjectedClock_PK06(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true })
	c := h.newClient(authBasic)
	f := h.newBrowser().mustLogin(c, nil)
	wantOAuthError(t, "a wrong verifier", h.redeem(c, f, url.Values{"code_verifier": {oauth2.GenerateVerifier()}}),
		http.StatusBadRequest, "invalid_grant")
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := h.serve(h.clientRequest(c, "/token", codeForm(f)).WithContext(ctx))
	if d := time.Since(start); r.Status != http.StatusBadRequest || r.oauthError() != "invalid_grant" {
		t.Errorf("the replay answered %s after %s; want invalid_grant within about 500 ms", r, d.Round(time.Millisecond))
	}
}
