package cimd

import (
	"context"
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
			res, _ := testResolver(t, srv, func(c *Config) { c.Timeout = or(tt.timeout, c.Timeout) })
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
			if tt.kind == KindFetch && e.HTTPStatus == 0 {
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

func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc(""))
	tests := []struct {
		allowed []string
		host    string
		ok      bool
	}{
		{nil, "app.example.com", true},
		{[]string{"*.example.com"}, "app.example.com", true},
		{[]string{"app.example.com"}, "app.example.com", true},
		{[]string{"example.com"}, "app.example.com", false},
		{[]string{"*.app.example.com"}, "app.example.com", false},
		{[]string{"claude.ai", "127.0.0.1"}, "other.example.com", false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.allowed, ","), func(t *testing.T) {
			t.Parallel()
			dns := dnsOf(map[string]string{"app.example.com": "127.0.0.1", "other.example.com": "127.0.0.1"})
			res, _ := testResolver(t, srv, func(c *Config) { c.AllowedHosts, c.DNS = tt.allowed, dns })
			id := srv.id(tt.host, "/c-"+strings.Join(tt.allowed, "-"))
			_, err := res.Lookup(t.Context(), id)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, KindForbidden)
			wantKind(t, res.CheckClientID(id), KindForbidden)
			if q := dns.questions(); len(q) != 0 {
				t.Fatalf("resolved %v for a host not allowed", q)
			}
		})
	}
}

// TestPrivateHostsLoopback: a loopback document server is reachable only
// when its host is listed, and only on the listed port.
func TestPrivateHostsLoopback(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc(""))
	id := "https://127.0.0.1:" + srv.port + "/c"
	tests := []struct {
		private []string
		ok      bool
	}{
		{nil, false},
		{[]string{"localhost"}, false},
		{[]string{"127.0.0.1:1"}, false},
		{[]string{"127.0.0.1:" + srv.port}, true},
		{[]string{"127.0.0.1"}, true},
	}
	t.Run("group", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(strings.Join(tt.private, ","), func(t *testing.T) {
				t.Parallel()
				res, _ := testResolver(t, srv, func(c *Config) { c.PrivateHosts = tt.private })
				_, err := res.Lookup(t.Context(), id)
				if tt.ok != (err == nil) {
					t.Fatalf("Lookup = %v, want ok=%v", err, tt.ok)
				}
				if err != nil {
					wantKind(t, err, KindForbidden)
				}
			})
		}
	})
	if srv.hits.Load() != 2 {
		t.Fatalf("%d requests reached the server, want 2", srv.hits.Load())
	}
}

// TestAddressCheck resolves through an injected resolver answering IP
// literals and dials through a recorder that never opens a connection.
func TestAddressCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, answers string
		private           []string
		dials             string // what the dialer is asked, "" for nothing
	}{
		{"loopback", "https://victim.test/c", "127.0.0.1", nil, ""},
		{"metadata service", "https://victim.test/c", "169.254.169.254", nil, ""},
		{"mapped private", "https://victim.test/c", "::ffff:10.0.0.1", nil, ""},
		{"private", "https://victim.test/c", "10.0.0.1", nil, ""},
		{"cgnat", "https://victim.test/c", "100.64.0.1", nil, ""},
		{"unique local", "https://victim.test/c", "fc00::1", nil, ""},
		{"nat64 of private", "https://victim.test/c", "64:ff9b::a00:1", nil, ""},
		{"6to4 of loopback", "https://victim.test/c", "2002:7f00:1::1", nil, ""},
		{"unspecified", "https://victim.test/c", "0.0.0.0", nil, ""},
		{"ipv6 unspecified", "https://victim.test/c", "::", nil, ""},
		{"link-local v6", "https://victim.test/c", "fe80::1", nil, ""},
		{"broadcast", "https://victim.test/c", "255.255.255.255", nil, ""},
		{"documentation", "https://victim.test/c", "2001:db8::1", nil, ""},
		{"one bad answer among good", "https://victim.test/c", "93.184.215.14,10.0.0.1", nil, ""},
		{"loopback literal", "https://127.0.0.1/c", "", nil, ""},
		{"mapped loopback literal", "https://[::ffff:127.0.0.1]/c", "", nil, ""},
		{"metadata literal", "https://169.254.169.254/latest/meta-data", "", nil, ""},
		{"metadata even when listed", "https://victim.test/c", "169.254.169.254", []string{"victim.test"}, ""},
		{"listed on another port", "https://victim.test/c", "10.0.0.1", []string{"victim.test:8443"}, ""},

		{"public: the checked address is dialled", "https://victim.test/c", "93.184.215.14", nil, "93.184.215.14:443"},
		{"public on a port", "https://victim.test:8443/c", "2606:4700::1111", nil, "[2606:4700::1111]:8443"},
		{"mapped public dialled as IPv4", "https://victim.test/c", "::ffff:93.184.215.14", nil, "93.184.215.14:443"},
		{"listed private", "https://victim.test/c", "10.0.0.1", []string{"victim.test"}, "10.0.0.1:443"},
		{"listed mapped private", "https://victim.test/c", "::ffff:10.0.0.1", []string{"victim.test:443"}, "10.0.0.1:443"},
		{"public literal", "https://[2606:4700::1111]/c", "", nil, "[2606:4700::1111]:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dns := dnsOf(map[string]string{})
			if tt.answers != "" {
				dns = dnsOf(map[string]string{"victim.test": tt.answers})
			}
			dialer := &recordingDialer{}
			res, err := New(Config{DNS: dns, Dial: dialer.Dial, PrivateHosts: tt.private, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = res.Lookup(t.Context(), tt.id)
			calls := dialer.calls()
			if tt.dials == "" {
				e := wantKind(t, err, KindForbidden)
				if len(calls) != 0 {
					t.Fatalf("dialled %v", calls)
				}
				if strings.Contains(e.Reason, ".") && strings.ContainsAny(e.Reason, "0123456789") {
					t.Fatalf("reason %q names an address", e.Reason)
				}
				return
			}
			wantKind(t, err, KindFetch)
			if len(calls) != 1 || calls[0] != tt.dials {
				t.Fatalf("dialled %v, want [%s]", calls, tt.dials)
			}
		})
	}
}

// TestRebinding: the name is resolved once per connection and the
// address checked is the one dialled; a later answer of 127.0.0.1 is
// refused, never dialled.
func TestRebinding(t *testing.T) {
	t.Parallel()
	dns := dnsOf(map[string]string{"rebind.test": "93.184.215.14|127.0.0.1"})
	dialer := &recordingDialer{}
	clk := newClock()
	res, err := New(Config{DNS: dns, Dial: dialer.Dial, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, mustFail(res.Lookup(t.Context(), "https://rebind.test/c")), KindFetch)
	clk.Add(time.Second)
	wantKind(t, mustFail(res.Lookup(t.Context(), "https://rebind.test/c")), KindForbidden)
	if calls := dialer.calls(); len(calls) != 1 || calls[0] != "93.184.215.14:443" {
		t.Fatalf("dialled %v", calls)
	}
	if q := dns.questions(); len(q) != 2 {
		t.Fatalf("resolved %v", q)
	}
}

// TestDialerControl: the default dialer checks the address once more
// right before connect.
func TestDialerControl(t *testing.T) {
	t.Parallel()
	srv := newDocServer(t, serveDoc(""))
	addr := "127.0.0.1:" + srv.port
	_, err := checkedDialer(false).DialContext(t.Context(), "tcp", addr)
	wantKind(t, err, KindForbidden)
	c, err := checkedDialer(true).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestCoalesceAndPerHostBound: lookups of one URL share a fetch; a fifth
// distinct URL on a host with four in flight fails at once; another host
// is not held up.
func TestCoalesceAndPerHostBound(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if strings.HasPrefix(r.Host, "app.example.com:") {
			<-release
		}
		serveDoc("")(w, r)
	})
	res, _ := testResolver(t, srv, nil)
	ctx := t.Context()
	errs := make(chan error, 16)
	for i := range 4 {
		for range 3 {
			go func() {
				_, err := res.Lookup(ctx, srv.id("app.example.com", "/c"+strconv.Itoa(i)))
				errs <- err
			}()
		}
	}
	for range 4 {
		<-arrived
	}
	wantBusy(t, mustFail(res.Lookup(ctx, srv.id("app.example.com", "/c4"))), time.Second)
	if _, err := res.Lookup(ctx, srv.id("other.example.com", "/c")); err != nil {
		t.Fatalf("other host: %v", err)
	}
	close(release)
	for range 12 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.hits.Load(); got != 5 {
		t.Fatalf("%d fetches, want 4 coalesced + 1", got)
	}
}

// TestCallerGivesUp: a caller whose context ends stops waiting with a
// timeout; the shared fetch goes on and serves the others.
func TestCallerGivesUp(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		serveDoc("")(w, r)
	})
	res, _ := testResolver(t, srv, nil)
	id := srv.id("app.example.com", "/c")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { _, err := res.Lookup(ctx, id); done <- err }()
	<-arrived
	other := make(chan error)
	go func() { _, err := res.Lookup(t.Context(), id); other <- err }()
	cancel()
	wantKind(t, <-done, KindTimeout)
	close(release)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("%d fetches", srv.hits.Load())
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	var ok atomic.Bool
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !ok.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		serveDoc("")(w, r)
	})
	res, clk := testResolver(t, srv, nil)
	id := srv.id("app.example.com", "/c")
	wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindFetch)
	// Another URL on the same host, from anyone: held back too.
	wantBusy(t, mustFail(res.Lookup(t.Context(), srv.id("app.example.com", "/d"))), time.Second)
	clk.Add(time.Second)
	wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindFetch)
	clk.Add(time.Second)
	wantBusy(t, mustFail(res.Lookup(t.Context(), id)), time.Second)
	if srv.hits.Load() != 2 {
		t.Fatalf("%d fetches during the backoff", srv.hits.Load())
	}
	clk.Add(time.Second)
	ok.Store(true)
	if _, err := res.Lookup(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := res.Lookup(t.Context(), srv.id("app.example.com", "/d")); err != nil {
		t.Fatalf("after a success: %v", err)
	}
}

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
