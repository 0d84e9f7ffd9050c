package cimd

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

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

// TestRedirectToInside: a document server that answers with a redirect to
// the metadata service, a mapped private address or loopback (as a
// literal or as a name resolving there) gets its redirect refused as a
// fetch error; the target is neither resolved nor dialled, because no
// redirect is followed.
func TestRedirectToInside(t *testing.T) {
	t.Parallel()
	for _, target := range []string{
		"https://169.254.169.254/latest/meta-data/",
		"https://[::ffff:10.0.0.1]/c",
		"https://127.0.0.1/c",
		"https://inside.test/c",
	} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, http.StatusFound)
			})
			dialer := &recordingDialer{loopback: true}
			dns := dnsOf(map[string]string{"app.example.com": "127.0.0.1", "inside.test": "10.0.0.1"})
			res, _ := testResolver(t, srv, func(c *Config) { c.Dial, c.DNS = dialer.Dial, dns })
			e := wantKind(t, mustFail(res.Lookup(t.Context(), srv.id("app.example.com", "/c"))), KindFetch)
			if !strings.Contains(e.Reason, "302") {
				t.Errorf("reason %q does not name the redirect", e.Reason)
			}
			if calls := dialer.calls(); len(calls) != 1 || calls[0] != "127.0.0.1:"+srv.port {
				t.Errorf("dialled %v; want only the document server", calls)
			}
			if q := dns.questions(); len(q) != 1 || q[0] != "app.example.com" {
				t.Errorf("resolved %v; want only the document's host", q)
			}
			if n := srv.hits.Load(); n != 1 {
				t.Errorf("the document server saw %d requests, want 1", n)
			}
		})
	}
}
