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
	docs map[string]string
	hits map[string]int
}

func newDocServer(t *testing.T) *docServer {
	t.Helper()
	ds := &docServer{docs: map[string]string{}, hits: map[string]int{}}
	ds.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ds.mu.Lock()
		ds.hits[r.URL.Path]++
		body, ok := ds.docs[r.URL.Path]
		ds.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
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
	ds.mu.Lock()
	ds.docs[path] = string(raw)
	ds.mu.Unlock()
	return &regClient{ID: "https://" + ds.host + path, Method: public, RedirectURIs: []string{"https://app.test/cb"}}
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
