package oauthcore_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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

// TestDocumentClientPublic: a document client authenticates with no
// secret; one presenting a secret is refused without a fetch, and it may
// not introspect (only confidential clients do).
func TestDocumentClientPublic(t *testing.T) {
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
