package e2e

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"
)

// fromAddress is an HTTP client whose connections come from the loopback
// address ip (Caddy binds 127.0.0.1; any 127/8 source reaches it).
func fromAddress(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // test only: tls internal
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestInteropManageNoOwnerLockout_MG07: someone who saw a client id (in an
// authorize URL) sends 25 wrong registration access tokens from one
// address: it is throttled (429 with Retry-After, even with the right
// token), and the owner, from another address, still reads its client.
func TestInteropManageNoOwnerLockout_MG07(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	for i := 0; i < 25; i++ {
		r := e.manage(http.MethodGet, c.ID, "reg-guess", nil)
		switch {
		case i < 20:
			wantStatus(t, "attacker's wrong RAT", r, http.StatusUnauthorized, "")
		default:
			wantStatus(t, "attacker's wrong RAT past the limit", r, http.StatusTooManyRequests, "slow_down")
			if r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	wantStatus(t, "the right RAT from the attacker's address", e.manage(http.MethodGet, c.ID, c.RAT, nil), http.StatusTooManyRequests, "")

	owner := fromAddress(t, "127.0.0.2")
	req, err := http.NewRequest(http.MethodGet, e.url("/register/"+c.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.RAT)
	r := e.do(owner, req)
	wantStatus(t, "the owner from 127.0.0.2", r, http.StatusOK, "")
	if r.Status == http.StatusOK && r.json(t)["client_id"] != c.ID {
		t.Errorf("the owner read %s", r)
	}
}
