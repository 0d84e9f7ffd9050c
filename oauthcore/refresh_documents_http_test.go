package oauthcore_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// documentGrant runs the flow for a document client whose document is
// cached for two minutes, and returns the client and its tokens.
func documentGrant(t *testing.T, h *harness, ds *docServer, path string) (*testClient, tokenSet) {
	t.Helper()
	c := ds.client(path)
	ds.serveDoc(path, ds.document(path), "max-age=120")
	_, tok := h.fullFlow(c)
	return c, tok
}

// TestDocumentClientRefreshCached_SS05: a refresh while the document is cached
// fetches nothing; after it expired, the first refresh fetches it once
// and the next ones use the new copy.
func TestDocumentClientRefreshCached_SS05(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	c, tok := documentGrant(t, h, ds, "/app.json")
	tok = h.parseTokens(h.refresh(c, tok.Refresh, nil))
	if n := ds.hits("/app.json"); n != 1 {
		t.Fatalf("fetched %d times before expiry, want 1", n)
	}
	h.clock.Advance(3 * time.Minute)
	for range 3 {
		tok = h.parseTokens(h.refresh(c, tok.Refresh, nil))
	}
	if n := ds.hits("/app.json"); n != 2 {
		t.Errorf("fetched %d times after expiry and three refreshes, want 2", n)
	}
}

// TestDocumentClientRefreshRevoked_SS05: when the document refetched after
// its expiry no longer fits the grant (the redirect URI gone, a changed
// client_id, a shared secret, not a document any more) or its host is no
// longer allowed, the refresh gets invalid_grant and the grant ends.
func TestDocumentClientRefreshRevoked_SS05(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	tests := []struct {
		name   string
		change func(h *harness, path string)
	}{
		{"redirect URI dropped", func(_ *harness, path string) {
			ds.serveDoc(path, ds.document(path, "https://app.test/other"), "")
		}},
		{"client_id changed", func(_ *harness, path string) {
			doc := ds.document(path)
			doc["client_id"] = ds.id("/someone-else.json")
			ds.serveDoc(path, doc, "")
		}},
		{"asks for a secret", func(_ *harness, path string) {
			doc := ds.document(path)
			doc["token_endpoint_auth_method"] = "client_secret_post"
			ds.serveDoc(path, doc, "")
		}},
		{"not JSON", func(_ *harness, path string) {
			ds.serve(path, docAnswer{status: http.StatusOK, body: "gone"})
		}},
		{"host no longer allowed", func(h *harness, _ string) {
			h.restart(func(c *oauthcore.Config) { c.ClientIDMetadata.AllowedHosts = []string{"clients.example.com"} })
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withDocuments(ds))
			path := "/app" + string(rune('a'+i)) + ".json"
			c, tok := documentGrant(t, h, ds, path)
			tt.change(h, path)
			h.clock.Advance(3 * time.Minute)
			wantOAuthError(t, "refresh", h.refresh(c, tok.Refresh, nil), 400, "invalid_grant")
			if h.valid(tok.Access) {
				t.Errorf("the grant's access token still verifies")
			}
			ds.serveDoc(path, ds.document(path), "")
			h.clock.Advance(11 * time.Second) // past the host's failure backoff
			if tt.name != "host no longer allowed" {
				wantOAuthError(t, "refresh with the document restored", h.refresh(c, tok.Refresh, nil), 400, "invalid_grant")
			}
		})
	}
}

// TestDocumentClientRefreshOutage_SS05: a document out of reach at refresh
// time is 503 temporarily_unavailable with Retry-After, and the grant
// stays: once the document is back, the same refresh token works.
func TestDocumentClientRefreshOutage_SS05(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	c, tok := documentGrant(t, h, ds, "/app.json")
	ds.serve("/app.json", docAnswer{status: http.StatusInternalServerError})
	h.clock.Advance(3 * time.Minute)
	r := h.refresh(c, tok.Refresh, nil)
	wantOAuthError(t, "refresh, document down", r, 503, "temporarily_unavailable")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	wantOAuthError(t, "refresh, host in backoff", h.refresh(c, tok.Refresh, nil), 503, "temporarily_unavailable")
	ds.client("/app.json")
	h.clock.Advance(11 * time.Second)
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
	if !h.valid(tok.Access) {
		t.Errorf("the outage revoked the grant")
	}
}

// TestDocumentClientTokenAndRevokeErrors: at /token (code grant) and
// /revoke a bad document is invalid_client and an unreachable one 503.
func TestDocumentClientTokenAndRevokeErrors(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	ds.serve("/down.json", docAnswer{status: http.StatusBadGateway})
	ds.serve("/bad.json", docAnswer{status: http.StatusOK, body: "[]"})
	for _, tt := range []struct {
		path, code string
		status     int
	}{
		{"/bad.json", "invalid_client", 401},
		{"/down.json", "temporarily_unavailable", 503},
	} {
		for _, endpoint := range []string{"/token", "/revoke"} {
			t.Run(tt.path+endpoint, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, withDocuments(ds))
				c := &testClient{ID: ds.id(tt.path), Method: authPublic}
				form := url.Values{"token": {"x"}, "grant_type": {"authorization_code"}, "code": {"x"}}
				wantOAuthError(t, endpoint, h.call(c, endpoint, form), tt.status, tt.code)
			})
		}
	}
}

// TestDocumentCacheSharedThroughStore: documents are cached in the store
// when it keeps them, so another instance on the store (here: a restarted
// server with a fresh resolver) does not fetch the document again.
func TestDocumentCacheSharedThroughStore(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	h := newHarness(t, withDocuments(ds))
	c, tok := documentGrant(t, h, ds, "/app.json")
	h.restart(nil)
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
	if n := ds.hits("/app.json"); n != 1 {
		t.Errorf("fetched %d times across two servers on one store, want 1", n)
	}
}
