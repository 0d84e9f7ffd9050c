package oauthcore_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizePageHygiene_AZ02_AZ11_CD04_MD04: every page and browser
// redirect forbids caching, referrers and framing under a strict CSP;
// hostile values come back escaped; the endpoint answers GET only, and
// has no CORS (browsers must not call it cross-origin).
func TestAuthorizePageHygiene_AZ02_AZ11_CD04_MD04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := clientMeta(authBasic)
	m["client_name"] = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	c := h.registerMeta(m)
	b := h.newBrowser()

	hostile := h.newBrowser().get("/authorize?client_id=" + url.QueryEscape("<svg/onload=alert(1)>") + "&redirect_uri=https://evil.test")
	wantLocalPage(t, "AZ-02 hostile client_id", hostile, http.StatusBadRequest, "invalid_client")
	if strings.Contains(hostile.Body, "<svg") {
		t.Error("AZ-02: <svg reflected unescaped")
	}
	consent := b.openConsent(newAuthRequest(c)).Page
	if strings.Contains(consent.Body, "<script>") || strings.Contains(consent.Body, "<img") || !strings.Contains(consent.Body, "&lt;script&gt;") {
		t.Error("AZ-02: the client_name is not shown escaped on the consent page")
	}
	f := b.mustLogin(c, nil)
	pages := map[string]*reply{"error page": hostile, "consent page": consent}
	for i, p := range f.Pages {
		pages["flow step "+string(rune('1'+i))] = p
	}
	pages["remembered consent redirect"] = b.get(newAuthRequest(c).path())
	for what, p := range pages {
		wantPageHeaders(t, what, p)
	}

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		r := h.serve(request(method, newAuthRequest(c).path(), nil))
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
			t.Errorf("%s /authorize: %s (Allow %q), want 405 with Allow: GET", method, r, r.Header.Get("Allow"))
		}
	}
	pre := request(http.MethodOptions, "/authorize", nil)
	pre.Header.Set("Origin", "https://inspector.test")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	if r := h.serve(pre); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("MD-04: preflight of /authorize: %s, Access-Control-Allow-Origin %q, want 204 without CORS",
			r, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

// wantPageHeaders checks the headers every AS page and browser redirect
// carries (AZ-11, CD-04).
func wantPageHeaders(t testing.TB, what string, r *reply) {
	t.Helper()
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("AZ-11/CD-04 %s (%d): Cache-Control %q, Referrer-Policy %q, X-Frame-Options %q, CSP %q",
			what, r.Status, h.Get("Cache-Control"), h.Get("Referrer-Policy"), h.Get("X-Frame-Options"), csp)
	}
}

// TestRedirectStatuses_AZ06: every redirect of the browser leg is 302, and
// the one answering the consent POST is 303 (RFC 9700 §4.12): never 307
// or 308, which would replay the POST body to GitHub or the client.
func TestRedirectStatuses_AZ06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	b := h.newBrowser()
	first := b.mustLogin(c, nil)
	statuses := map[string]int{
		"approve":              first.Pages[1].Status,
		"callback with a code": first.Pages[2].Status,
		"remembered consent":   b.mustLogin(c, nil).Pages[0].Status,
	}
	a := newAuthRequest(c)
	a.Query.Set("response_type", "token")
	statuses["authorize error"] = b.get(a.path()).Status
	deny := h.newBrowser()
	statuses["deny"] = deny.submit(deny.openConsent(newAuthRequest(c)), "deny", nil).Status
	h.gh.CancelNextLogin()
	cancelled := b.login(c, nil)
	statuses["callback with an error"] = cancelled.Pages[len(cancelled.Pages)-1].Status
	for what, status := range statuses {
		want := http.StatusFound
		if what == "approve" || what == "deny" {
			want = http.StatusSeeOther
		}
		if status != want {
			t.Errorf("AZ-06 %s: status %d, want %d", what, status, want)
		}
	}
}

// TestAuthorizeStoreOutage_RD03: a store failing at /authorize is a 503
// page with Retry-After, never a 400 that blames the client (an unknown
// client_id) and never a 500; once the store is back the same request
// works.
func TestAuthorizeStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	cases := []struct {
		method   string
		approved bool // whether this browser approved the client before
	}{
		{"GetClient", false},
		{"PutFlow", false},
		{"HasConsent", true},
		{"PutConsent", true},
		{"PutFlow", true},
	}
	for _, tc := range cases {
		t.Run(tc.method, func(t *testing.T) {
			t.Parallel()
			var fs *faultStore
			h := newHarness(t, withFaults(&fs))
			c := h.newClient(authPublic)
			b := h.newBrowser()
			if tc.approved {
				b.mustLogin(c, nil)
			}
			a := newAuthRequest(c)
			fs.fail(tc.method)
			r := b.get(a.path())
			fs.heal()
			wantLocalPage(t, tc.method+" failing", r, http.StatusServiceUnavailable, "temporarily_unavailable")
			if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") {
				t.Errorf("Retry-After %q; the body leaks the cause: %t", r.Header.Get("Retry-After"), strings.Contains(r.Body, "10.9.8.7"))
			}
			if r := b.get(a.path()); r.Status != http.StatusOK && r.Status != http.StatusFound {
				t.Errorf("the same request once the store is back: %s", r)
			}
		})
	}
}
