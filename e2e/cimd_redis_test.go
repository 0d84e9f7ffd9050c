package e2e

import (
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// TestDocumentClientTwoInstances_SS05: two Caddy processes on one Redis
// share client metadata documents. A cold flow that moves between them
// (authorize on B, consent and callback on A, token on B) fetches each
// document once, and a refresh on B while it is cached fetches nothing.
// Once the document's lifetime (max-age=60, the shortest allowed) has
// passed, the first refresh fetches it again, once for both instances:
// a client whose document still describes it refreshes, and the other
// instance then finds the new copy in Redis; a client whose document no
// longer lists its redirect URI gets invalid_grant, its grant is revoked,
// and its access token is refused at the gates.
func TestDocumentClientTwoInstances_SS05(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	p := startPairConfig(t, caddyConfig{
		Env: []string{"SSL_CERT_FILE=" + ds.certPEM},
		Extra: []string{redisStorage(redistest.Start(t)),
			"client_id_metadata {", "\tprivate_hosts " + ds.host, "}"},
	})
	a, b := p.a, p.b
	shortLived := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=60"}}
	publish := func(path string, doc map[string]any) *regClient {
		c := ds.publish(t, path, doc)
		ds.mu.Lock()
		d := ds.docs[path]
		d.header = shortLived
		ds.docs[path] = d
		ds.mu.Unlock()
		return c
	}
	keep := publish("/keep.json", ds.doc("/keep.json"))
	drop := publish("/drop.json", ds.doc("/drop.json"))

	fetched := time.Now()
	keepTok := crossDocumentFlow(t, p, keep)
	dropTok := crossDocumentFlow(t, p, drop)
	wantFetches(t, ds, "a cold flow across both instances", 1, 1)

	keepTok = b.parseTokens(b.refresh(keep, keepTok.Refresh, url.Values{"resource": {p.resource}}))
	wantFetches(t, ds, "a refresh on B while the document is cached", 1, 1)

	// The drop client's document no longer lists its redirect URI.
	changed := ds.doc("/drop.json")
	changed["redirect_uris"] = []string{"https://app.test/elsewhere"}
	publish("/drop.json", changed)

	// Time itself is under test here: the cached copies (in Redis and in
	// each instance's memory) must expire after the document's lifetime,
	// which cannot be shorter than cimd.MinLifetime. Wait until it has
	// passed since the first fetch, then one second more.
	time.Sleep(time.Until(fetched.Add(cimd.MinLifetime + time.Second)))

	keepTok = a.parseTokens(a.refresh(keep, keepTok.Refresh, url.Values{"resource": {p.resource}}))
	wantFetches(t, ds, "the first refresh after the lifetime", 2, 1)
	keepTok = b.parseTokens(b.refresh(keep, keepTok.Refresh, url.Values{"resource": {p.resource}}))
	if r := b.get(b.api, newAuthReq(keep).path()); r.Status != http.StatusOK {
		t.Errorf("authorize on B with the refetched document: %s", r)
	}
	wantFetches(t, ds, "B after A refetched (the new copy is in Redis)", 2, 1)

	wantStatus(t, "refresh of a client whose document dropped its redirect URI",
		b.refresh(drop, dropTok.Refresh, url.Values{"resource": {p.resource}}), http.StatusBadRequest, "invalid_grant")
	wantFetches(t, ds, "the changed document", 2, 2)
	for _, e := range []*env{a, b} {
		waitRefused(t, e, p.resource, dropTok.Access, "the revoked document client's access token at "+e.issuer)
		e.callWhoami(t, p.resource, keepTok.Access, "the other document client at "+e.issuer)
	}

	// Both instances miss a new document at once: the document server
	// holds its answer until the first fetch has arrived and both
	// authorization requests are out; one instance fetches, the other
	// waits for its copy in Redis (or finds it there), never fetching.
	hold := make(chan struct{})
	burst := ds.publish(t, "/burst.json", ds.doc("/burst.json"))
	ds.mu.Lock()
	d := ds.docs["/burst.json"]
	d.hold = hold
	ds.docs["/burst.json"] = d
	ds.mu.Unlock()
	type page struct {
		r   *response
		err error
	}
	pages := make(chan page, 2)
	for _, e := range []*env{a, b} {
		req, err := http.NewRequest(http.MethodGet, e.url(newAuthReq(burst).path()), nil)
		if err != nil {
			t.Fatal(err)
		}
		go func() { r, err := e.try(e.api, req); pages <- page{r, err} }()
	}
	for ds.count("/burst.json") == 0 {
		runtime.Gosched()
	}
	close(hold)
	for range 2 {
		if p := <-pages; p.err != nil || p.r.Status != http.StatusOK {
			t.Errorf("authorize during a concurrent miss: %v %v", p.err, p.r)
		}
	}
	if n := ds.count("/burst.json"); n != 1 {
		t.Errorf("two instances missing at once fetched the document %d times, want 1", n)
	}
}

// crossDocumentFlow signs a document client in across the pair and
// returns its tokens for the pair's resource.
func crossDocumentFlow(t *testing.T, p *pair, c *regClient) tokenSet {
	t.Helper()
	f := crossSignIn(t, p, c)
	return p.b.parseTokens(p.b.redeem(c, f, url.Values{"resource": {p.resource}}))
}

func wantFetches(t *testing.T, ds *docServer, what string, keep, drop int) {
	t.Helper()
	if k, d := ds.count("/keep.json"), ds.count("/drop.json"); k != keep || d != drop {
		t.Errorf("%s: fetched /keep.json %d and /drop.json %d times, want %d and %d", what, k, d, keep, drop)
	}
}

// waitRefused waits until e's gate refuses token with 401 (a revocation
// made elsewhere reaching it), for at most five seconds.
func waitRefused(t *testing.T, e *env, mcpURL, token, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := e.try(e.api, mcpRequest(http.MethodPost, mcpURL, token, mcpInitialize))
		if err == nil && r.Status == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not refused after 5s: %v %v", what, err, r)
		}
	}
}
