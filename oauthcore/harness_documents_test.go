package oauthcore_test

// The harness's client metadata documents: an https document server on
// loopback (httptest's TLS server, whose certificate covers 127.0.0.1),
// reached by the server's real fetcher through the Options hook, with
// PrivateHosts naming it (see harness_test.go).
//
//	ds := newDocServer(t)
//	h := newHarness(t, withDocuments(ds))
//	c := ds.client("/app.json")          // serves a valid document, returns the client
//	ds.serve("/app.json", docAnswer{...}) // or any answer
//	ds.hits("/app.json")                 // fetches so far

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// docAnswer is what the document server answers for one path.
type docAnswer struct {
	status int
	body   string
	header http.Header
	// block, when set, makes the answer wait until the request is
	// given up (a slow server).
	block bool
}

// docServer serves client metadata documents by path and counts fetches.
type docServer struct {
	*httptest.Server
	host string // 127.0.0.1:port

	mu      sync.Mutex
	answers map[string]docAnswer
	count   map[string]int
}

func newDocServer(t testing.TB) *docServer {
	t.Helper()
	ds := &docServer{answers: map[string]docAnswer{}, count: map[string]int{}}
	ds.Server = httptest.NewTLSServer(http.HandlerFunc(ds.handle))
	t.Cleanup(ds.Close)
	u, _ := url.Parse(ds.URL)
	ds.host = u.Host
	return ds
}

func (ds *docServer) handle(w http.ResponseWriter, r *http.Request) {
	ds.mu.Lock()
	ds.count[r.URL.Path]++
	a, ok := ds.answers[r.URL.Path]
	ds.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if a.block {
		<-r.Context().Done()
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

// id is the client_id of the document at path.
func (ds *docServer) id(path string) string { return "https://" + ds.host + path }

// serve sets the answer for path.
func (ds *docServer) serve(path string, a docAnswer) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.answers[path] = a
}

// serveDoc serves doc as JSON at path, with Cache-Control when given.
func (ds *docServer) serveDoc(path string, doc map[string]any, cacheControl string) {
	body, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if cacheControl != "" {
		h.Set("Cache-Control", cacheControl)
	}
	ds.serve(path, docAnswer{status: http.StatusOK, body: string(body), header: h})
}

// document is a valid document for the client at path with redirects
// (default https://app.test/cb).
func (ds *docServer) document(path string, redirects ...string) map[string]any {
	if len(redirects) == 0 {
		redirects = []string{"https://app.test/cb"}
	}
	return map[string]any{"client_id": ds.id(path), "client_name": "Doc App", "redirect_uris": redirects}
}

// client serves a valid document at path and returns its client.
func (ds *docServer) client(path string, redirects ...string) *testClient {
	doc := ds.document(path, redirects...)
	ds.serveDoc(path, doc, "")
	return &testClient{ID: ds.id(path), Method: authPublic, RedirectURIs: doc["redirect_uris"].([]string)}
}

// hits is how many times path was fetched.
func (ds *docServer) hits(path string) int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.count[path]
}

// withDocuments lets the harness's server fetch documents from ds: its
// transport trusts ds's certificate, and ds's address is a private host.
func withDocuments(ds *docServer) func(*harnessOptions) {
	return func(o *harnessOptions) {
		o.Config.ClientIDMetadata.PrivateHosts = append(o.Config.ClientIDMetadata.PrivateHosts, ds.host)
		o.ClientIDMetadata = func(c *cimd.Config) { c.Transport = ds.Client().Transport.(*http.Transport) }
	}
}

// metadata is the server's RFC 8414 metadata.
func (h *harness) metadata() map[string]any {
	return h.serve(request(http.MethodGet, "/.well-known/oauth-authorization-server", nil)).json(h.t)
}

// documentsOff is a harness option that turns client_id URLs off.
func documentsOff(o *harnessOptions) {
	o.Config.ClientIDMetadata = oauthcore.ClientIDMetadataConfig{Disabled: true}
}
