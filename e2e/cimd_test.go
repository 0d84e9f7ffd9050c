package e2e

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// docServer is an https server on loopback publishing client metadata
// documents; Caddy trusts its certificate through SSL_CERT_FILE.
type docServer struct {
	*httptest.Server
	host    string
	certPEM string // the file holding its certificate

	mu   sync.Mutex
	docs map[string]docAnswer
	hits map[string]int
}

// docAnswer is what the document server answers for one path; block
// makes it wait until the request is given up (a slow server).
type docAnswer struct {
	status int
	header http.Header
	body   string
	block  bool
	hold   chan struct{} // when set, the answer waits until it is closed
}

func newDocServer(t *testing.T) *docServer {
	t.Helper()
	ds := &docServer{docs: map[string]docAnswer{}, hits: map[string]int{}}
	ds.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ds.mu.Lock()
		ds.hits[r.URL.Path]++
		a, ok := ds.docs[r.URL.Path]
		ds.mu.Unlock()
		switch {
		case !ok:
			http.NotFound(w, r)
			return
		case a.block:
			<-r.Context().Done()
			return
		case a.hold != nil:
			<-a.hold
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(ds.Close)
	u, _ := url.Parse(ds.URL)
	ds.host = u.Host
	ds.certPEM = filepath.Join(t.TempDir(), "docserver.pem")
	raw := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ds.Certificate().Raw})
	if err := os.WriteFile(ds.certPEM, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return ds
}

// publish serves doc at path and returns its client as clients see it.
func (ds *docServer) publish(t *testing.T, path string, doc map[string]any) *regClient {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return ds.answer(path, docAnswer{status: http.StatusOK, body: string(raw),
		header: http.Header{"Content-Type": {"application/json"}}})
}

// answer serves a at path and returns the client whose id is its URL.
func (ds *docServer) answer(path string, a docAnswer) *regClient {
	ds.mu.Lock()
	ds.docs[path] = a
	ds.mu.Unlock()
	return &regClient{ID: ds.id(path), Method: public, RedirectURIs: []string{"https://app.test/cb"}}
}

func (ds *docServer) id(path string) string { return "https://" + ds.host + path }

// doc is a valid document for the client at path.
func (ds *docServer) doc(path string) map[string]any {
	return map[string]any{"client_id": ds.id(path), "client_name": "Doc Client", "redirect_uris": []string{"https://app.test/cb"}}
}

func (ds *docServer) count(path string) int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.hits[path]
}

// TestDocumentClient_SS04_SS05: against the real Caddy, which trusts the
// document server's certificate through SSL_CERT_FILE and reaches it on
// loopback because private_hosts names it, a client whose client_id is
// its document's URL signs in, redeems, refreshes (the document fetched
// once, then cached) and revokes; a document whose client_id differs is
// a local 400 page, and the metadata advertises the feature.
func TestDocumentClient_SS04_SS05(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	e := newEnv(t, caddyConfig{
		Env:   []string{"SSL_CERT_FILE=" + ds.certPEM},
		Extra: []string{"client_id_metadata {", "\tprivate_hosts " + ds.host, "}"},
	})
	md := e.get(e.api, "/.well-known/oauth-authorization-server").json(t)
	if md["client_id_metadata_document_supported"] != true {
		t.Errorf("metadata does not advertise client_id_metadata_document_supported: %v", md)
	}
	id := "https://" + ds.host + "/client.json"
	c := ds.publish(t, "/client.json", map[string]any{"client_id": id, "client_name": "Doc Client",
		"redirect_uris": []string{"https://app.test/cb"}})
	f, tok := e.fullFlow(c)
	if f.Code == "" || tok.Refresh == "" {
		t.Fatalf("flow: code %q, refresh token %q", f.Code, tok.Refresh)
	}
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	wantStatus(t, "revoke", e.revoke(c, next.Refresh), http.StatusOK, "")
	wantStatus(t, "refresh after revoke", e.refresh(c, next.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if n := ds.count("/client.json"); n != 1 {
		t.Errorf("the document was fetched %d times, want 1", n)
	}

	other := ds.publish(t, "/other.json", map[string]any{"client_id": id, "client_name": "Impostor",
		"redirect_uris": []string{"https://app.test/cb"}})
	r := e.get(e.api, newAuthReq(other).path())
	wantLocalPage(t, "a document naming another client_id", r, http.StatusBadRequest)
	if !strings.Contains(r.Body, "client_id does not match") {
		t.Errorf("the page does not say why: %s", tail(r.Body, 400))
	}
}

// TestDocumentRefusals_SS02_SS04: each refusal of a document by the real
// Caddy is a local page, never a redirect: a 302 from the document server
// (not followed), a 6 KiB document, a client_secret_basic document, a
// redirect_uri the document does not list, a slow server (timeout 1s),
// and a loopback document server that private_hosts does not name. Each
// case has its own Caddy: a failed fetch puts the host in backoff.
func TestDocumentRefusals_SS02_SS04(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	big := ds.doc("/big.json")
	big["software_id"] = strings.Repeat("x", 6<<10)
	secret := ds.doc("/secret.json")
	secret["token_endpoint_auth_method"] = "client_secret_basic"
	ds.publish(t, "/big.json", big)
	ds.publish(t, "/secret.json", secret)
	ds.publish(t, "/client.json", ds.doc("/client.json"))
	ds.answer("/moved.json", docAnswer{status: http.StatusFound, header: http.Header{"Location": {ds.id("/client.json")}}})
	ds.answer("/slow.json", docAnswer{block: true})
	t.Run("cases", func(t *testing.T) { testDocumentRefusals(t, ds) })
	if n := ds.count("/client.json"); n != 1 {
		t.Errorf("/client.json fetched %d times, want 1 (the 302 not followed, the loopback one refused before dialling)", n)
	}
}

func testDocumentRefusals(t *testing.T, ds *docServer) {
	private := []string{"client_id_metadata {", "\tprivate_hosts " + ds.host, "\ttimeout 1s", "}"}
	for _, tt := range []struct {
		name, path, redirect string
		extra                []string
		status               int
	}{
		{"a 302", "/moved.json", "", private, http.StatusBadGateway},
		{"6 KiB", "/big.json", "", private, http.StatusBadRequest},
		{"client_secret_basic", "/secret.json", "", private, http.StatusBadRequest},
		{"redirect_uri not listed", "/client.json", "https://evil.test/cb", private, http.StatusBadRequest},
		{"slow server", "/slow.json", "", private, http.StatusGatewayTimeout},
		{"loopback without private_hosts", "/client.json", "", nil, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, caddyConfig{Env: []string{"SSL_CERT_FILE=" + ds.certPEM}, Extra: tt.extra})
			a := newAuthReq(&regClient{ID: ds.id(tt.path), Method: public, RedirectURIs: []string{"https://app.test/cb"}})
			if tt.redirect != "" {
				a.Query.Set("redirect_uri", tt.redirect)
			}
			wantLocalPage(t, tt.name, e.get(e.api, a.path()), tt.status)
		})
	}
}
