package cimd

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDNS answers from a table; each host's answers are used in turn, the
// last one repeating. It records every question.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	asked   []string
}

func dnsOf(kv map[string]string) *fakeDNS {
	d := &fakeDNS{answers: map[string][][]netip.Addr{}}
	for host, addrs := range kv {
		for _, set := range strings.Split(addrs, "|") {
			var as []netip.Addr
			for _, a := range strings.Split(set, ",") {
				as = append(as, netip.MustParseAddr(a))
			}
			d.answers[host] = append(d.answers[host], as)
		}
	}
	return d
}

func (d *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, host)
	sets := d.answers[host]
	if len(sets) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	set := sets[0]
	if len(sets) > 1 {
		d.answers[host] = sets[1:]
	}
	return set, nil
}

func (d *fakeDNS) questions() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}

// recordingDialer records what it is asked to dial and dials only
// loopback addresses, for real, when loopback is set: never anything else.
type recordingDialer struct {
	loopback bool
	mu       sync.Mutex
	dialed   []string
}

func (d *recordingDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, addr)
	d.mu.Unlock()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !d.loopback || !ap.Addr().IsLoopback() {
		return nil, errors.New("test dialer: not dialling " + addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *recordingDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// docServer is a TLS document server on loopback that counts requests.
type docServer struct {
	*httptest.Server
	hits atomic.Int32
	port string
}

func newDocServer(t *testing.T, h http.HandlerFunc) *docServer {
	t.Helper()
	s := &docServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	s.port = u.Port()
	return s
}

// id is the client_id of path on this server, under a name that the test
// DNS maps to 127.0.0.1 and the test certificate covers.
func (s *docServer) id(host, path string) string { return "https://" + host + ":" + s.port + path }

// testResolver reaches srv as app.example.com and other.example.com
// (both listed in PrivateHosts), with a clock that moves when told.
func testResolver(t *testing.T, srv *docServer, mod func(*Config)) (*Resolver, *clock) {
	t.Helper()
	c := newClock()
	cfg := Config{
		Transport:    srv.Client().Transport.(*http.Transport),
		DNS:          dnsOf(map[string]string{"app.example.com": "127.0.0.1", "other.example.com": "127.0.0.1"}),
		PrivateHosts: []string{"app.example.com", "other.example.com"},
		Now:          c.Now,
		Timeout:      5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

// docFor is a valid document for clientID.
func docFor(clientID string) string {
	return `{"client_id":"` + clientID + `","client_name":"Test App","redirect_uris":["http://localhost/callback"],"grant_types":["authorization_code","refresh_token"]}`
}

// serveDoc answers every request with the valid document for the URL
// asked, under the given Cache-Control.
func serveDoc(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(docFor("https://" + r.Host + r.URL.RequestURI())))
	}
}

func wantKind(t *testing.T, err error, k Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != k {
		t.Fatalf("err = %v, want kind %v", err, k)
	}
	return e
}
