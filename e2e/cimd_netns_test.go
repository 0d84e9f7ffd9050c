package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// netnsEnv tells a re-executed test binary that it runs inside the
// network namespace TestDocumentAddresses_Namespace_SS02 made.
const netnsEnv = "MCPOAUTH_E2E_IN_NETNS"

// TestDocumentAddresses_Namespace_SS02: the real Caddy refuses client
// metadata documents on addresses no client_id may reach, as names that
// resolve there and as literals: the cloud metadata service
// 169.254.169.254 (even when private_hosts lists its name), the private
// 10.0.0.1 and its IPv4-mapped form ::ffff:10.0.0.1, and a document
// server's redirect to the metadata service; and it reaches 10.0.0.1 when
// private_hosts names the host, which proves the refusals are the
// address check's. None of this traffic can leave the machine: the test
// binary runs itself again under `unshare --net --mount`, in a network
// namespace whose only interface is a loopback holding those addresses,
// with an /etc/hosts of its own bind-mounted for the names.
func TestDocumentAddresses_Namespace_SS02(t *testing.T) {
	if os.Getenv(netnsEnv) == "1" {
		testDocumentAddressesInside(t)
		return
	}
	t.Parallel()
	argv, err := namespaceCommand()
	if err != nil {
		msg := "this test makes a network namespace, which needs unshare(1) (util-linux) and root or passwordless sudo: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	argv = append(argv, "--net", "--mount", "--", os.Args[0],
		"-test.run", "^TestDocumentAddresses_Namespace_SS02$", "-test.count", "1", "-test.v")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", "MCPOAUTH_E2E_CADDY="+caddyBin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestDocumentAddresses_Namespace_SS02")) {
		t.Fatalf("inside the namespace: %v\n%s", err, tail(string(out), 24<<10))
	}
	if testing.Verbose() {
		t.Logf("inside the namespace:\n%s", tail(string(out), 8<<10))
	}
}

func testDocumentAddressesInside(t *testing.T) {
	setUpNamespace(t)
	ds := startInsideDocServer(t)

	// Caddy A has no private_hosts: every address here is refused.
	a := newEnv(t, caddyConfig{Env: []string{"SSL_CERT_FILE=" + ds.certPEM}})
	for _, tt := range []struct{ name, host string }{
		{"a name resolving to 169.254.169.254", "metadata.test"},
		{"the literal 169.254.169.254", "169.254.169.254"},
		{"a name resolving to ::ffff:10.0.0.1", "mapped.test"},
		{"the literal [::ffff:10.0.0.1]", "[::ffff:10.0.0.1]"},
		{"a name resolving to 10.0.0.1", "intranet.test"},
		{"a name resolving to 127.0.0.1", "loopback.test"},
	} {
		r := a.get(a.api, newAuthReq(ds.client(tt.host, "/client.json")).path())
		wantLocalPage(t, tt.name, r, http.StatusBadRequest)
		if reason := pageReason(r.Body); reason != "the client_id host resolves to a special-use address" {
			t.Errorf("%s: the page says %q, want that the address is refused", tt.name, reason)
		}
	}

	// Caddy B lists intranet.test and metadata.test: the first is
	// reached, the second is link-local and stays refused, and the
	// first's redirect to the metadata service is not followed.
	b := newEnv(t, caddyConfig{
		Env:   []string{"SSL_CERT_FILE=" + ds.certPEM},
		Extra: []string{"client_id_metadata {", "\tprivate_hosts intranet.test metadata.test", "}"},
	})
	r := b.get(b.api, newAuthReq(ds.client("intranet.test", "/client.json")).path())
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`) {
		t.Fatalf("intranet.test listed in private_hosts: got %d, want the consent page\n%s", r.Status, tail(r.Body, 600))
	}
	r = b.get(b.api, newAuthReq(ds.client("metadata.test", "/client.json")).path())
	wantLocalPage(t, "metadata.test listed in private_hosts", r, http.StatusBadRequest)
	t.Logf("metadata.test listed in private_hosts: %s", pageReason(r.Body))
	r = b.get(b.api, newAuthReq(ds.client("intranet.test", "/moved.json")).path())
	wantLocalPage(t, "a redirect to the metadata service", r, http.StatusBadGateway)
	if reason := pageReason(r.Body); !strings.Contains(reason, "302") {
		t.Errorf("a redirect to the metadata service: the page says %q, want the 302 named", reason)
	}

	if got := ds.hitsExcept("intranet.test"); len(got) != 0 {
		t.Errorf("the document server was reached at %v; want only intranet.test", got)
	}
	ds.mu.Lock()
	n := ds.hits["intranet.test"]
	ds.mu.Unlock()
	if n != 2 {
		t.Errorf("intranet.test was fetched %d times, want 2 (the document, the redirect)", n)
	}
}

// pageReason is an error page's description.
func pageReason(body string) string {
	_, rest, _ := strings.Cut(body, `id="error-description">`)
	text, _, _ := strings.Cut(rest, "</p>")
	return text
}

// namespaceCommand is the command line that runs unshare as root: unshare
// itself when this process is root, else through passwordless sudo
// keeping the environment.
func namespaceCommand() ([]string, error) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		return []string{unshare}, nil
	}
	sudo, err := exec.LookPath("sudo")
	if err != nil {
		return nil, errors.New("not root, and no sudo: " + err.Error())
	}
	if out, err := exec.Command(sudo, "-n", "true").CombinedOutput(); err != nil {
		return nil, errors.New("not root, and sudo asks for a password: " + strings.TrimSpace(string(out)))
	}
	return []string{sudo, "-n", "-E", unshare}, nil
}

// setUpNamespace brings up the namespace's loopback with the test's
// addresses and bind-mounts a hosts file naming them, after checking that
// loopback is the namespace's only interface.
func setUpNamespace(t *testing.T) {
	t.Helper()
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip link show: %v", err)
	}
	if n := strings.Count(strings.TrimSpace(string(links)), "\n") + 1; n != 1 || !strings.Contains(string(links), ": lo:") {
		t.Fatalf("not in a fresh network namespace (want only lo):\n%s", links)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", "169.254.169.254/32", "dev", "lo"},
		{"addr", "add", "10.0.0.1/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	content := "127.0.0.1 localhost loopback.test\n::1 localhost\n" +
		"169.254.169.254 metadata.test\n10.0.0.1 intranet.test\n::ffff:10.0.0.1 mapped.test\n"
	if err := os.WriteFile(hosts, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", hosts, "/etc/hosts").CombinedOutput(); err != nil {
		t.Fatalf("mount --bind %s /etc/hosts: %v\n%s", hosts, err, out)
	}
}

// insideDocServer serves documents on every address of the namespace
// and counts requests by the Host they were sent to.
type insideDocServer struct {
	port    string
	certPEM string
	mu      sync.Mutex
	hits    map[string]int
}

func startInsideDocServer(t *testing.T) *insideDocServer {
	t.Helper()
	cert, certPEM := testCertificate(t, []string{"intranet.test", "metadata.test", "mapped.test", "loopback.test"},
		[]net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("169.254.169.254"), net.ParseIP("127.0.0.1")})
	ds := &insideDocServer{certPEM: certPEM, hits: map[string]int{}}
	ln, err := tls.Listen("tcp", "0.0.0.0:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	_, ds.port, _ = net.SplitHostPort(ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(ds.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ds
}

func (ds *insideDocServer) serve(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.Host)
	ds.mu.Lock()
	ds.hits[host]++
	ds.mu.Unlock()
	if r.URL.Path == "/moved.json" {
		http.Redirect(w, r, "https://169.254.169.254:"+ds.port+"/client.json", http.StatusFound)
		return
	}
	id := "https://" + r.Host + r.URL.Path
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"client_id": id, "client_name": "Inside Client",
		"redirect_uris": []string{"https://app.test/cb"}})
}

func (ds *insideDocServer) client(host, path string) *regClient {
	return &regClient{ID: "https://" + host + ":" + ds.port + path, Method: public, RedirectURIs: []string{"https://app.test/cb"}}
}

func (ds *insideDocServer) hitsExcept(host string) map[string]int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	out := map[string]int{}
	for h, n := range ds.hits {
		if h != host {
			out[h] = n
		}
	}
	return out
}

// testCertificate is a self-signed certificate for names and ips, and the
// file holding it as PEM (for SSL_CERT_FILE).
func testCertificate(t *testing.T, names []string, ips []net.IP) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cimd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: names, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}
