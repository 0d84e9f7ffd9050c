package cimd

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLookupFetch(t *testing.T) {
	t.Parallel()
	pad := func(n int) string { return strings.Repeat(" ", n) }
	tests := []struct {
		name    string
		handler func(id string) http.HandlerFunc
		timeout time.Duration
		kind    Kind   // 0: accepted
		reason  string // substring of the Reason
	}{
		{name: "happy path", handler: func(id string) http.HandlerFunc { return serveDoc("max-age=3600") }},
		{name: "exactly 5 KiB", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				d := docFor(id)
				_, _ = w.Write([]byte(d + pad(MaxDocumentSize-len(d))))
			}
		}},
		{name: "302", kind: KindFetch, reason: "302", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					panic("redirect followed")
				}
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}
		}},
		{name: "308", kind: KindFetch, reason: "308", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://127.0.0.1:1/x", http.StatusPermanentRedirect)
			}
		}},
		{name: "404", kind: KindFetch, reason: "404", handler: func(id string) http.HandlerFunc { return http.NotFound }},
		{name: "204", kind: KindFetch, reason: "204", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
		}},
		{name: "6 KiB with length", kind: KindInvalidDocument, reason: "larger than 5 KiB", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				d := docFor(id)
				w.Header().Set("Content-Length", strconv.Itoa(6<<10))
				_, _ = w.Write([]byte(d + pad(6<<10-len(d))))
			}
		}},
		{name: "6 KiB chunked", kind: KindInvalidDocument, reason: "larger than 5 KiB", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				d := docFor(id)
				_, _ = w.Write([]byte(d))
				w.(http.Flusher).Flush()
				_, _ = w.Write([]byte(pad(6<<10 - len(d))))
			}
		}},
		{name: "one byte over", kind: KindInvalidDocument, reason: "larger than 5 KiB", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				d := docFor(id)
				w.Header().Set("Transfer-Encoding", "chunked")
				_, _ = w.Write([]byte(d + pad(MaxDocumentSize+1-len(d))))
			}
		}},
		{name: "wrong client_id", kind: KindInvalidDocument, reason: "does not match", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(docFor("https://claude.ai/oauth/client")))
			}
		}},
		{name: "client_secret_basic", kind: KindInvalidDocument, reason: "shared secret", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(strings.Replace(docFor(id), `{`, `{"token_endpoint_auth_method":"client_secret_basic",`, 1)))
			}
		}},
		{name: "html", kind: KindInvalidDocument, reason: "not a JSON object", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>sign in</html>")) }
		}},
		{name: "slow server", kind: KindTimeout, timeout: 100 * time.Millisecond, handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
		}},
		{name: "truncated body", kind: KindFetch, handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				// Fewer bytes than declared: the server drops the connection.
				w.Header().Set("Content-Length", "200")
				_, _ = w.Write([]byte(`{"client_id":"` + id + `","client_name":"Test App","redirect_uris":["https://app.example.com/cb"]}`[:40]))
			}
		}},
		{name: "slow body", kind: KindTimeout, timeout: 100 * time.Millisecond, handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"client_id":`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var id string
			srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) { tt.handler(id)(w, r) })
			id = srv.id("app.example.com", "/client.json")
			res, _ := testResolver(t, srv, func(c *Config) { c.Timeout = cmp.Or(tt.timeout, c.Timeout) })
			doc, err := res.Lookup(t.Context(), id)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Lookup: %v", err)
				}
				if doc.ClientID != id || doc.ClientName != "Test App" || doc.Host() != "app.example.com:"+srv.port {
					t.Fatalf("doc %+v", doc)
				}
				return
			}
			e := wantKind(t, err, tt.kind)
			if !strings.Contains(e.Reason, tt.reason) {
				t.Fatalf("reason %q, want it to mention %q", e.Reason, tt.reason)
			}
			if got := srv.hits.Load(); got != 1 {
				t.Fatalf("%d requests, want 1", got)
			}
			if tt.kind == KindFetch && e.HTTPStatus == 0 && tt.name != "truncated body" {
				t.Fatal("HTTPStatus not set")
			}
		})
	}
}

func TestLookupCaches(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc("max-age=120"))
	res, clk := testResolver(t, srv, nil)
	id := srv.id("app.example.com", "/c")
	get := func(wantHits int32) {
		t.Helper()
		if _, err := res.Lookup(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if got := srv.hits.Load(); got != wantHits {
			t.Fatalf("%d fetches, want %d", got, wantHits)
		}
	}
	get(1)
	get(1)
	clk.Add(119 * time.Second)
	get(1)
	clk.Add(time.Second)
	get(2) // expired: fetched once more
	get(2)
	if _, err := res.Refetch(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	get(3)
}

// TestLookupRefetchAfterChange is the refresh path: the document changes
// while cached (unnoticed), then the change is seen once it expired.
func TestLookupRefetchAfterChange(t *testing.T) {
	t.Parallel()
	var secret atomic.Bool
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		id := "https://" + r.Host + r.URL.Path
		d := docFor(id)
		if secret.Load() {
			d = strings.Replace(d, `{`, `{"token_endpoint_auth_method":"client_secret_post",`, 1)
		}
		_, _ = w.Write([]byte(d))
	})
	res, clk := testResolver(t, srv, nil)
	id := srv.id("app.example.com", "/c")
	if _, err := res.Lookup(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	secret.Store(true)
	if _, err := res.Lookup(t.Context(), id); err != nil {
		t.Fatalf("cached lookup: %v", err)
	}
	clk.Add(DefaultLifetime)
	wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindInvalidDocument)
	if srv.hits.Load() != 2 {
		t.Fatalf("%d fetches", srv.hits.Load())
	}
	// The refused document is not cached: the next lookup (after the
	// backoff) fetches again.
	clk.Add(time.Second)
	secret.Store(false)
	if _, err := res.Lookup(t.Context(), id); err != nil || srv.hits.Load() != 3 {
		t.Fatalf("err %v after %d fetches", err, srv.hits.Load())
	}
}

func mustFail(_ *Document, err error) error { return err }

func TestCheckRedirectURIHook(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc(""))
	res, clk := testResolver(t, srv, func(c *Config) {
		c.CheckRedirectURI = func(u string) error {
			if strings.HasPrefix(u, "http://localhost") {
				return &Error{Reason: "loopback refused here"}
			}
			return nil
		}
	})
	id := srv.id("app.example.com", "/c")
	e := wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindInvalidDocument)
	if !strings.Contains(e.Reason, "loopback refused here") {
		t.Fatalf("reason %q", e.Reason)
	}
	clk.Add(time.Second)
	wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindInvalidDocument)
	if srv.hits.Load() != 2 {
		t.Fatal("a refused document was cached")
	}
}

// TestSharedCacheEntries: entries from a store are checked like fetched
// ones would be: expiry, client_id, and today's AllowedHosts.
func TestSharedCacheEntries(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc(""))
	cache := &MemoryCache{}
	id := srv.id("app.example.com", "/c")
	res, clk := testResolver(t, srv, func(c *Config) { c.Cache = cache })
	foreign, _ := ParseDocument(srv.id("other.example.com", "/c"), []byte(docFor(srv.id("other.example.com", "/c"))))
	_ = cache.Put(t.Context(), id, &Entry{Document: foreign, Expires: clk.Now().Add(time.Hour)})
	doc, err := res.Lookup(t.Context(), id)
	if err != nil || doc.ClientID != id || srv.hits.Load() != 1 {
		t.Fatalf("foreign entry served: %v %v", doc, err)
	}
	strict, _ := testResolver(t, srv, func(c *Config) { c.Cache, c.AllowedHosts = cache, []string{"claude.ai"} })
	wantKind(t, mustFail(strict.Lookup(t.Context(), id)), KindForbidden)
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"allowed with port":  {AllowedHosts: []string{"example.com:443"}},
		"allowed wildcard":   {AllowedHosts: []string{"*"}},
		"private wildcard":   {PrivateHosts: []string{"*.internal"}},
		"cache max too low":  {CacheMax: time.Second},
		"negative timeout":   {Timeout: -time.Second},
		"negative per host":  {MaxPerHost: -1},
		"private bad port":   {PrivateHosts: []string{"localhost:0"}},
		"allowed url":        {AllowedHosts: []string{"https://claude.ai"}},
		"allowed upper dots": {AllowedHosts: []string{"a..b"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{}); err != nil {
		t.Fatal(err)
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	for k, want := range map[Kind]int{KindInvalidURL: 400, KindForbidden: 400, KindInvalidDocument: 400, KindFetch: 502, KindTimeout: 504, KindBusy: 503} {
		if k.Status() != want || k.Permanent() != (want == 400) || k.String() == "unknown" {
			t.Errorf("%v: status %d permanent %v", k, k.Status(), k.Permanent())
		}
	}
	if KindOf(context.Canceled) != 0 {
		t.Error("KindOf of a foreign error")
	}
}

// brokenCache fails every call, as a store in an outage does.
type brokenCache struct{}

func (brokenCache) Get(context.Context, string) (*Entry, error) { return nil, errors.New("store down") }
func (brokenCache) Put(context.Context, string, *Entry) error   { return errors.New("store down") }

// TestCacheOutage: a store that fails costs fetches, never lookups.
func TestCacheOutage(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc(""))
	res, _ := testResolver(t, srv, func(c *Config) { c.Cache = brokenCache{} })
	id := srv.id("app.example.com", "/c")
	for want := int32(1); want <= 2; want++ {
		if _, err := res.Lookup(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if srv.hits.Load() != want {
			t.Fatalf("%d fetches, want %d", srv.hits.Load(), want)
		}
	}
}

// TestErrorText: the log line names the refused address, the reason for
// the page does not.
func TestErrorText(t *testing.T) {
	t.Parallel()
	res, err := New(Config{DNS: dnsOf(map[string]string{"victim.test": "169.254.169.254"}), Dial: (&recordingDialer{}).Dial})
	if err != nil {
		t.Fatal(err)
	}
	_, err = res.Lookup(t.Context(), "https://victim.test/c")
	e := wantKind(t, err, KindForbidden)
	if !strings.Contains(err.Error(), "169.254.169.254 is link-local") || strings.Contains(e.Reason, "169.254") {
		t.Fatalf("Error() %q, Reason %q", err.Error(), e.Reason)
	}
	var ae *addrError
	if !errors.As(err, &ae) || ae.addr.String() != "169.254.169.254" {
		t.Fatalf("cause %v", errors.Unwrap(err))
	}
}
