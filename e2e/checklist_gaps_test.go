package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// This file holds the black-box tests for checklist items that had none
// (docs/security-checklist.md, "Items proved here").

// canary is a loopback TCP listener that records every connection made to
// it: a server-side fetch of a URL a client supplied shows up here.
type canary struct {
	ln       net.Listener
	url      string        // http://127.0.0.1:<port>
	accepted chan net.Addr // remote address of each connection, in accept order
	closed   chan struct{} // closed when the accept loop ends
}

func startCanary(t *testing.T) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln, url: "http://" + ln.Addr().String(), accepted: make(chan net.Addr, 1024), closed: make(chan struct{})}
	go func() {
		defer close(c.closed)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted <- conn.RemoteAddr()
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-c.closed
	})
	return c
}

// others dials the canary itself and returns every connection accepted
// before that one: the listener accepts in arrival order, so once our own
// connection is seen, any connection made earlier has been recorded too.
// No waiting on a clock.
func (c *canary) others(t *testing.T) []net.Addr {
	t.Helper()
	conn, err := net.Dial("tcp", c.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mine := conn.LocalAddr().String()
	defer conn.Close()
	var out []net.Addr
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-c.accepted:
			if a.String() == mine {
				return out
			}
			out = append(out, a)
		case <-timeout:
			t.Fatal("the canary never accepted its own connection")
		}
	}
}

// TestNothingUserControlledIsFetched_SS01_DR04: every URL a client may
// supply points at a canary listener: the redirect URI, the display URLs
// of the registration (RFC 7591 client_uri, logo_uri, tos_uri,
// policy_uri), the fetchable ones this server does not support (jwks_uri,
// sector_identifier_uri, request_uris, initiate_login_uri), an RFC 7592
// update of them, request_uri at /authorize, and jku/x5u headers of forged
// access tokens at the gate and at /introspect. A whole flow runs (consent,
// GitHub login, code, gate, refresh, introspection, revocation), and the
// canary must see no connection: the server fetches only the GitHub
// endpoints of its configuration. The consent page shows no third-party
// image either.
func TestNothingUserControlledIsFetched_SS01_DR04(t *testing.T) {
	t.Parallel()
	cn := startCanary(t)
	e, up := newMCPEnv(t, caddyConfig{}, "")
	at := func(p string) string { return cn.url + p }
	meta := clientMeta(post, at("/cb"))
	for _, f := range []string{"client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri", "sector_identifier_uri", "initiate_login_uri"} {
		meta[f] = at("/" + f)
	}
	meta["request_uris"] = []string{at("/request_uris")}
	c := e.registerMeta(meta)

	b := e.newBrowser()
	req := newAuthReq(c)
	resource := e.mcpURL("/github/mcp")
	req.Query.Set("resource", resource)
	page := e.get(b.c, req.path())
	if page.Status != http.StatusOK {
		t.Fatalf("authorize: want the consent page, got %s", page)
	}
	if strings.Contains(strings.ToLower(page.Body), "<img") || strings.Contains(page.Body, `src="`+cn.url) {
		t.Error("DR-04: the consent page embeds an image or a client-supplied source")
	}
	approve := b.submit(b.parseConsent(page), "approve", nil)
	f := &flow{Req: req, GitHub: approve.location(t)}
	if f.GitHub == nil {
		t.Fatalf("approve: %s", approve)
	}
	b.finish(f)
	if f.Code == "" || !strings.HasPrefix(f.Final.String(), at("/cb?")) {
		t.Fatalf("the code should go (by the browser, which this test does not follow) to the canary: %v", f.Final)
	}
	tok := e.parseTokens(e.redeem(c, f, url.Values{"resource": {resource}}))
	wantStatus(t, "the gate with the token", e.mcpPost("/github/mcp", tok.Access), http.StatusOK, "")
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	if !e.active(c, next.Access) {
		t.Error("the refreshed access token does not introspect as active")
	}

	update := map[string]any{"client_id": c.ID, "redirect_uris": []string{at("/cb2")}, "token_endpoint_auth_method": post,
		"logo_uri": at("/logo2"), "client_uri": at("/client2"), "jwks_uri": at("/jwks2")}
	put := e.manage(http.MethodPut, c.ID, c.RAT, update)
	wantStatus(t, "RFC 7592 update with canary URLs", put, http.StatusOK, "")
	if rat, _ := put.json(t)["registration_access_token"].(string); rat != "" {
		e.remember(rat)
		wantStatus(t, "RFC 7592 read", e.manage(http.MethodGet, c.ID, rat, nil), http.StatusOK, "")
	}

	// request_uri (RFC 9101, RFC 9126) is not supported: whatever /authorize
	// answers, it must not dereference it.
	withReqURI := newAuthReq(c)
	withReqURI.Query.Set("redirect_uri", at("/cb2"))
	withReqURI.Query.Set("request_uri", at("/request_uri"))
	e.get(e.newBrowser().c, withReqURI.path())

	// Forged tokens naming the canary as their key source.
	_, claims := jwtParts(t, next.Access)
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []map[string]any{
		{"typ": "at+jwt", "kid": "canary", "jku": at("/jku")},
		{"typ": "at+jwt", "x5u": at("/x5u")},
	} {
		forged := forge(t, jwt.SigningMethodES256, attacker, claims, h)
		wantStatus(t, "a forged token with a remote key at the gate", e.mcpPost("/github/mcp", forged), http.StatusUnauthorized, "")
		if e.active(c, forged) {
			t.Errorf("a forged token with header %v introspects as active", h)
		}
	}
	wantStatus(t, "revoke", e.revoke(c, next.Refresh), http.StatusOK, "")

	if got := cn.others(t); len(got) > 0 {
		t.Errorf("SS-01: the server connected to a client-supplied URL %d time(s), from %v", len(got), got)
	}
	if n := up.count(); n != 1 {
		t.Errorf("the MCP upstream saw %d requests, want exactly the one with the genuine token", n)
	}
}

// redisMonitor is a MONITOR connection: every command any client of the
// server runs, Lua scripts' calls included, one line each.
type redisMonitor struct {
	lines chan string
}

func startMonitor(t *testing.T, addr string) *redisMonitor {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.ReadString('\n'); err != nil || strings.TrimSpace(ok) != "+OK" {
		t.Fatalf("MONITOR: %q %v", ok, err)
	}
	m := &redisMonitor{lines: make(chan string, 1<<16)}
	go func() {
		defer close(m.lines)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m.lines <- strings.TrimSpace(line)
		}
	}()
	return m
}

// until sends ECHO marker through another connection and returns every
// line the monitor printed before it. Redis prints commands in the order
// it runs them, so nothing that ran earlier can be missing.
func (m *redisMonitor) until(t *testing.T, srv *redistest.Server, marker string) []string {
	t.Helper()
	srv.MustCLI("ECHO", marker)
	var out []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				t.Fatal("the MONITOR connection closed")
			}
			if strings.Contains(l, `"`+marker+`"`) {
				return out
			}
			out = append(out, l)
		case <-timeout:
			t.Fatal("the marker never came through MONITOR")
		}
	}
}

// monitorCommand is the command name of a MONITOR line such as
//
//	+1700000000.123456 [0 127.0.0.1:50000] "EVALSHA" "…" "1" …
//	+1700000000.123457 [0 lua] "ZADD" "…"
func monitorCommand(line string) string {
	i := strings.Index(line, `] "`)
	if i < 0 {
		return ""
	}
	rest := line[i+3:]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		rest = rest[:j]
	}
	return strings.ToUpper(rest)
}

// keyspaceCommands are the Redis commands whose cost grows with the whole
// keyspace or an unbounded set.
var keyspaceCommands = map[string]bool{"KEYS": true, "SCAN": true, "SMEMBERS": true, "SSCAN": true,
	"RANDOMKEY": true, "FLUSHDB": true, "FLUSHALL": true}

// TestRedisCommandsOnRequestPaths_RD09_RD10_CL03_AC07 runs every request
// path on the Redis store (registration, consent, a failed and a good
// callback, code redemption and replay, refresh, introspection, both kinds
// of revocation, RFC 7592 read, update, wrong tokens and deletion of a
// client with live grants) while a MONITOR connection records each command
// Redis runs. No command may walk the keyspace or an unbounded set (RD-09:
// the original ran KEYS on every failed callback and scanned every token
// on client deletion); checking the commands themselves proves what a
// latency test against a seeded keyspace only suggests. And no credential
// the server issued or received (client secret, registration access token,
// code, access and refresh token, GitHub's state, code and token, PKCE
// verifier) may appear in any key name or value written (RD-10, CL-03,
// AC-07).
func TestRedisCommandsOnRequestPaths_RD09_RD10_CL03_AC07(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	e := newEnv(t, caddyConfig{Extra: []string{redisStorage(srv)}})
	mon := startMonitor(t, srv.Addr)

	c := e.newClient(basic)
	pub := e.newClient(public)
	b := e.newBrowser()
	f := b.login(c, nil)
	tok := e.exchange(c, f)
	wantLocalPage(t, "a callback with an unknown state", e.get(b.c, "/callback?state=unknown-state&code=x"), http.StatusBadRequest)
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	e.introspect(c, next.Access)
	wantStatus(t, "revoke the access token", e.revoke(c, next.Access), http.StatusOK, "")
	wantStatus(t, "code replay", e.redeem(c, f, nil), http.StatusBadRequest, "invalid_grant")
	pf, ptok := e.fullFlow(pub)
	wantStatus(t, "revoke a refresh token", e.revoke(pub, ptok.Refresh), http.StatusOK, "")
	_, live := e.fullFlow(pub)

	wantStatus(t, "RFC 7592 read", e.manage(http.MethodGet, c.ID, c.RAT, nil), http.StatusOK, "")
	wantStatus(t, "RFC 7592 wrong token", e.manage(http.MethodGet, c.ID, c.RAT+"x", nil), http.StatusUnauthorized, "")
	put := e.putClient(c, c.RAT, c.RedirectURIs[0])
	wantStatus(t, "RFC 7592 update", put, http.StatusOK, "")
	if rat, _ := put.json(t)["registration_access_token"].(string); rat != "" {
		e.remember(rat)
	}
	wantStatus(t, "RFC 7592 delete of a client with a live grant", e.manage(http.MethodDelete, pub.ID, pub.RAT, nil), http.StatusNoContent, "")
	if r := e.refresh(pub, live.Refresh, nil); r.Status == http.StatusOK {
		t.Error("the deleted client's refresh token still refreshes")
	}

	lines := mon.until(t, srv, "e2e-end-of-requests")
	if len(lines) < 50 {
		t.Fatalf("MONITOR saw only %d commands; is it watching the right server?", len(lines))
	}
	seen := map[string]int{}
	for _, l := range lines {
		cmd := monitorCommand(l)
		seen[cmd]++
		if keyspaceCommands[cmd] {
			t.Errorf("RD-09: a request path ran %s: %s", cmd, tail(l, 300))
		}
	}
	t.Logf("commands seen: %v", seen)

	all := strings.Join(lines, "\n")
	secrets := append(e.issuedSecrets(), e.gh.Secrets()...)
	for _, fl := range []*flow{f, pf} {
		secrets = append(secrets, fl.Req.Verifier, fl.GitHub.Query().Get("state"))
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(all, s) {
			t.Errorf("RD-10/CL-03/AC-07: a credential reached Redis in clear: %s…", s[:min(len(s), 8)])
		}
	}
}
