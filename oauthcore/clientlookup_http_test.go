package oauthcore_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDocumentClientFlow: a client whose client_id is a document URL goes
// through the whole flow as a public client: consent, code, refresh,
// revocation; the document is fetched once, as it stays cached.
func TestDocumentClientFlow(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	c := ds.client("/app.json")
	b := h.newBrowser()
	cf := b.openConsent(newAuthRequest(c))
	if !strings.Contains(cf.Page.Body, "Doc App") {
		t.Errorf("the consent page does not name the document's client_name")
	}
	f := b.mustLogin(c, nil)
	tok := h.exchange(c, f)
	claims, err := h.verify(tok.Access)
	if err != nil || claims.ClientID != c.ID {
		t.Fatalf("access token: %+v %v", claims, err)
	}
	next := h.parseTokens(h.refresh(c, tok.Refresh, nil))
	if r := h.call(c, "/revoke", url.Values{"token": {next.Refresh}}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %s", r)
	}
	wantOAuthError(t, "refresh after revocation", h.refresh(c, next.Refresh, nil), 400, "invalid_grant")
	if n := ds.hits("/app.json"); n != 1 {
		t.Errorf("the document was fetched %d times, want 1 (cached)", n)
	}
}

// TestDocumentClientPublic_SS04: a document client authenticates with no
// secret; one presenting a secret is refused without a fetch, and it may
// not introspect (only confidential clients do).
func TestDocumentClientPublic_SS04(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	c := ds.client("/app.json")
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}
	r := h.tokenWith(form, basicHeader("Basic", c.ID, "secret"))
	wantOAuthError(t, "basic auth", r, 401, "invalid_client")
	form.Set("client_id", c.ID)
	form.Set("client_secret", "secret")
	wantOAuthError(t, "client_secret_post", h.tokenWith(form, ""), 401, "invalid_client")
	r = h.call(c, "/introspect", url.Values{"token": {"x"}})
	wantOAuthError(t, "introspect", r, 401, "invalid_client")
	if n := ds.hits("/app.json"); n != 0 {
		t.Errorf("the document was fetched %d times, want 0", n)
	}
}

// TestDocumentsOff: with the feature off a client_id URL is an unknown
// client, nothing is fetched and the metadata does not offer it.
func TestDocumentsOff(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds), documentsOff)
	c := ds.client("/app.json")
	r := h.newBrowser().get(newAuthRequest(c).path())
	wantLocalPage(t, "authorize", r, 400, "invalid_client")
	wantOAuthError(t, "token", h.refresh(c, "x", nil), 401, "invalid_client")
	if n := ds.hits("/app.json"); n != 0 {
		t.Errorf("the document was fetched %d times, want 0", n)
	}
	if _, ok := h.metadata()["client_id_metadata_document_supported"]; ok {
		t.Errorf("metadata advertises client_id_metadata_document_supported while it is off")
	}
}

func TestDocumentsAdvertised(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if v := h.metadata()["client_id_metadata_document_supported"]; v != true {
		t.Errorf("client_id_metadata_document_supported = %v, want true by default", v)
	}
}

// TestDocumentClientAuthorizeRefusals_SS04: every refusal of a document at
// /authorize is a local page (RFC 6749 §4.1.2.1, never a redirect): 400
// for a bad document, 502 when the fetch failed, 504 when it timed out.
// Nothing failed is cached: the next request fetches again.
func TestDocumentClientAuthorizeRefusals_SS04(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	big := ds.document("/big.json")
	big["software_id"] = strings.Repeat("x", 6<<10)
	secret := ds.document("/secret.json")
	secret["token_endpoint_auth_method"] = "client_secret_basic"
	other := ds.document("/other.json")
	other["client_id"] = ds.id("/different.json")
	ds.serveDoc("/big.json", big, "")
	ds.serveDoc("/secret.json", secret, "")
	ds.serveDoc("/other.json", other, "")
	ds.serveDoc("/redirect.json", ds.document("/redirect.json", "https://elsewhere.test/cb"), "")
	ds.serveDoc("/badredirect.json", ds.document("/badredirect.json", "javascript:alert(1)"), "")
	ds.serve("/moved.json", docAnswer{status: http.StatusFound, header: http.Header{"Location": {ds.id("/app.json")}}})
	ds.serve("/broken.json", docAnswer{status: http.StatusInternalServerError, body: "{}"})
	ds.serve("/html.json", docAnswer{status: http.StatusOK, body: "<html></html>"})
	ds.serve("/slow.json", docAnswer{block: true})
	ds.client("/app.json")
	tests := []struct {
		name, path string
		status     int
		code       string
	}{
		{"client_id differs", "/other.json", 400, "invalid_client"},
		{"over 5 KiB", "/big.json", 400, "invalid_client"},
		{"asks for a secret", "/secret.json", 400, "invalid_client"},
		{"not JSON", "/html.json", 400, "invalid_client"},
		{"redirect URI against our policy", "/badredirect.json", 400, "invalid_client"},
		{"redirect_uri not in the document", "/redirect.json", 400, "invalid_request"},
		{"a 302", "/moved.json", 502, "temporarily_unavailable"},
		{"a 500", "/broken.json", 502, "temporarily_unavailable"},
		{"a 404", "/missing.json", 502, "temporarily_unavailable"},
		{"a slow server", "/slow.json", 504, "temporarily_unavailable"},
		{"no path", "", 400, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Each case has its own server: a failed fetch puts the
			// document host in backoff for the resolver that made it.
			h := newHarness(t, withDocuments(ds), func(o *harnessOptions) {
				o.Config.ClientIDMetadata.Timeout = 200 * time.Millisecond
			})
			c := &testClient{ID: ds.id(tt.path), RedirectURIs: []string{"https://app.test/cb"}}
			r := h.newBrowser().get(newAuthRequest(c).path())
			wantLocalPage(t, tt.path, r, tt.status, tt.code)
		})
	}
	if n := ds.hits("/app.json"); n != 0 {
		t.Errorf("the 302 was followed: /app.json fetched %d times", n)
	}
}

// TestDocumentClientRetriedAfterFailure_SS04: a failed fetch is not cached;
// once the host's backoff is over the next request fetches again.
func TestDocumentClientRetriedAfterFailure_SS04(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	ds.serve("/app.json", docAnswer{status: http.StatusServiceUnavailable})
	c := &testClient{ID: ds.id("/app.json"), Method: authPublic, RedirectURIs: []string{"https://app.test/cb"}}
	wantLocalPage(t, "document down", h.newBrowser().get(newAuthRequest(c).path()), 502, "temporarily_unavailable")
	r := h.newBrowser().get(newAuthRequest(c).path())
	wantLocalPage(t, "host in backoff", r, 503, "temporarily_unavailable")
	ds.client("/app.json")
	h.clock.Advance(11 * time.Second)
	h.newBrowser().openConsent(newAuthRequest(c))
	if n := ds.hits("/app.json"); n != 2 {
		t.Errorf("the document was fetched %d times, want 2", n)
	}
}

// TestDocumentClientRevalidated_SS04: /consent and /callback check the request
// against the document as it is then (RU-08 for document clients): a
// refetched document that dropped the redirect URI, or one out of reach,
// stops the flow on a local page.
func TestDocumentClientRevalidated_SS04(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	t.Run("consent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withDocuments(ds))
		c := ds.client("/consent.json")
		ds.serveDoc("/consent.json", ds.document("/consent.json"), "max-age=60")
		b := h.newBrowser()
		cf := b.openConsent(newAuthRequest(c))
		ds.serveDoc("/consent.json", ds.document("/consent.json", "https://app.test/other"), "")
		h.clock.Advance(2 * time.Minute)
		wantLocalPage(t, "consent", b.submit(cf, "approve", nil), 400, "invalid_request")
	})
	t.Run("callback", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withDocuments(ds))
		c := ds.client("/callback.json")
		ds.serveDoc("/callback.json", ds.document("/callback.json"), "max-age=60")
		b := h.newBrowser()
		r := b.submit(b.openConsent(newAuthRequest(c)), "approve", nil)
		cb := b.github(r.location())
		ds.serve("/callback.json", docAnswer{status: http.StatusInternalServerError})
		h.clock.Advance(2 * time.Minute)
		wantLocalPage(t, "callback", b.callback(cb), 502, "temporarily_unavailable")
	})
}

// TestDocumentClientConsentPage: the consent page of a document client
// names the host that publishes it, shows it as verified only when that
// host is trusted, warns when every redirect is loopback, and never
// shows the document's logo_uri.
func TestDocumentClientConsentPage(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	trusted := func(o *harnessOptions) { o.Config.ClientIDMetadata.TrustedHosts = []string{"127.0.0.1"} }
	doc := ds.document("/logo.json", "http://127.0.0.1/callback")
	doc["logo_uri"] = "https://logo.test/x.png"
	ds.serveDoc("/logo.json", doc, "")
	loopback := &testClient{ID: ds.id("/logo.json"), Method: authPublic, RedirectURIs: []string{"http://127.0.0.1:5000/callback"}}
	for _, tt := range []struct {
		name     string
		opts     []func(*harnessOptions)
		client   func(h *harness) *testClient
		verified bool
		host     string
	}{
		{"untrusted document", nil, func(*harness) *testClient { return ds.client("/app.json") }, false, ds.host},
		{"trusted document", []func(*harnessOptions){trusted}, func(*harness) *testClient { return ds.client("/app.json") }, true, ds.host},
		{"registered client", []func(*harnessOptions){trusted}, func(h *harness) *testClient { return h.newClient(authPublic) }, false, ""},
		{"loopback document", nil, func(*harness) *testClient { return loopback }, false, ds.host},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, append([]func(*harnessOptions){withDocuments(ds)}, tt.opts...)...)
			c := tt.client(h)
			page := h.newBrowser().openConsent(newAuthRequest(c)).Page.Body
			if got := strings.Contains(page, `id="client-verified"`); got != tt.verified {
				t.Errorf("client-verified shown: %v, want %v", got, tt.verified)
			}
			if tt.host != "" && !strings.Contains(page, `id="client-host"><code>`+tt.host+`</code>`) {
				t.Errorf("the page does not name the publishing host %s", tt.host)
			}
			if tt.host == "" && strings.Contains(page, `id="client-host"`) {
				t.Errorf("a registered client's page names a publishing host")
			}
			if strings.Contains(page, "logo.test") {
				t.Errorf("the page shows the document's logo_uri")
			}
			if wantWarn := c == loopback; strings.Contains(page, `id="loopback-warning"`) != wantWarn {
				t.Errorf("loopback warning shown: %v, want %v", !wantWarn, wantWarn)
			}
		})
	}
}

// TestDocumentFetchesThrottled_SS06: lookups that fetch a document are
// limited per client address (30 a minute), so one address cannot make
// the server fetch and keep documents without bound; lookups of cached
// documents are not counted, and the window ends.
func TestDocumentFetchesThrottled_SS06(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	c := ds.client("/app.json")
	b := h.newBrowser()
	b.openConsent(newAuthRequest(c))
	for i := range 29 {
		other := &testClient{ID: ds.id("/unknown" + strconv.Itoa(i) + ".json"), RedirectURIs: c.RedirectURIs}
		if r := b.get(newAuthRequest(other).path()); r.Status == http.StatusTooManyRequests {
			t.Fatalf("lookup %d refused: %s", i+2, r)
		}
	}
	other := &testClient{ID: ds.id("/one-too-many.json"), Method: authPublic, RedirectURIs: c.RedirectURIs}
	r := b.get(newAuthRequest(other).path())
	wantLocalPage(t, "31st fetch", r, http.StatusTooManyRequests, "slow_down")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	wantOAuthError(t, "31st fetch at /token", h.refresh(other, "x", nil), 429, "slow_down")
	b.openConsent(newAuthRequest(c)) // cached: not counted
	if n := ds.hits("/one-too-many.json"); n != 0 {
		t.Errorf("the refused document was fetched %d times", n)
	}
	h.clock.Advance(time.Minute)
	ds.client("/one-too-many.json")
	b.openConsent(newAuthRequest(other))
}
