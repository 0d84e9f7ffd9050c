package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// pair is two Caddy instances sharing one Redis, one issuer (a's origin,
// as a load balancer's would be) and one MCP resource, as behind a load
// balancer: any step of a flow may land on either.
type pair struct {
	a, b     *env
	up       *mcpUpstream
	resource string // the MCP server's URL, the same through both
}

// redisStorage is the storage line for a standalone server or a Cluster.
func redisStorage(nodes ...*redistest.Server) string {
	if len(nodes) == 1 {
		return "storage redis redis://" + nodes[0].Addr
	}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	return "storage redis { \n\t\t\taddresses " + strings.Join(addrs, " ") + "\n\t\t}"
}

// startPair starts a and b on the given Redis nodes. Both gates protect
// a's MCP URL: b names it explicitly, as a deployment behind one public
// name would.
func startPair(t *testing.T, extra []string, nodes ...*redistest.Server) *pair {
	t.Helper()
	return startPairWith(t, append([]string{redisStorage(nodes...)}, extra...)...)
}

// startPairWith is startPair with the global options given whole (the
// storage line included).
func startPairWith(t *testing.T, options ...string) *pair {
	t.Helper()
	return startPairConfig(t, caddyConfig{Extra: options})
}

// startPairConfig is startPair with the whole configuration of both
// instances given (b's site and issuer are set here).
func startPairConfig(t *testing.T, cfg caddyConfig) *pair {
	t.Helper()
	a, up := newMCPEnv(t, cfg, "")
	p := &pair{a: a, up: up, resource: a.mcpURL("/github/mcp")}
	cfgB := cfg
	cfgB.SharedIssuer = a.issuer
	cfgB.MCPSite = fmt.Sprintf(`route /github/* {
		mcp_oauth_verify {
			resource %s
		}
		reverse_proxy {{UPSTREAM}}
	}`, a.mcpURL("/github"))
	cfgB.MCPUpstream = up.addr()
	p.b = a.peer(cfgB)
	return p
}

// peer starts another Caddy that shares e's fake GitHub.
func (e *env) peer(cfg caddyConfig) *env {
	e.t.Helper()
	p := &env{t: e.t, gh: e.gh, tr: e.tr}
	p.caddy = startCaddy(e.t, cfg, e.gh.URL, nil)
	p.issuer = p.caddy.issuer
	p.api = p.client(nil)
	return p
}

// crossFlow is the flow the issue demands: register on A, authorize on B,
// consent on A, GitHub's callback on A, token on B, refresh on A, the MCP
// server through both, and a revocation on B that A's gate honours within
// a second.
func crossFlow(t *testing.T, p *pair) {
	a, b := p.a, p.b
	c := a.newClient(basic)

	f := crossSignIn(t, p, c)
	if f.Iss != a.issuer {
		t.Fatalf("callback on A: iss %q (%s)", f.Iss, f.Final)
	}
	tok := b.parseTokens(b.redeem(c, f, url.Values{"resource": {p.resource}}))
	next := a.parseTokens(a.refresh(c, tok.Refresh, nil))
	if next.Refresh == tok.Refresh {
		t.Fatal("refresh on A did not rotate")
	}
	for _, e := range []*env{a, b} {
		e.callWhoami(t, e.mcpURL("/github/mcp"), next.Access, "MCP through "+e.issuer)
	}
	send := func() (*response, error) {
		return a.try(a.api, mcpRequest(http.MethodPost, a.mcpURL("/github/mcp"), next.Access, mcpInitialize))
	}
	refusedWithin(t, "RV-03 revoked on B, gate on A", send, func() {
		wantStatus(t, "revoke on B", b.revoke(c, next.Refresh), http.StatusOK, "")
	})
	wantStatus(t, "the revoked refresh token on A", a.refresh(c, next.Refresh, nil), http.StatusBadRequest, "invalid_grant")
}

// TestTwoInstancesOneRedis_CA06_RV03: two Caddy processes on one Redis act
// as one authorization server and one gate.
func TestTwoInstancesOneRedis_CA06_RV03(t *testing.T) {
	t.Parallel()
	crossFlow(t, startPair(t, nil, redistest.Start(t)))
}

// TestTwoInstancesRedisCluster_CA06: the same flow on a three-master
// Redis Cluster created by the test.
func TestTwoInstancesRedisCluster_CA06(t *testing.T) {
	t.Parallel()
	crossFlow(t, startPair(t, nil, redistest.StartCluster(t)...))
}

// TestCodeRaceAcrossInstances_AC03_RD01: 50 concurrent redemptions of one
// code, alternating between the instances: exactly one succeeds.
func TestCodeRaceAcrossInstances_AC03_RD01(t *testing.T) {
	t.Parallel()
	// Fifty concurrent redemptions on two Caddies and one Redis, on a
	// machine whose CPUs the test shares: the default 300 ms call deadline
	// measures the machine's load, not the protocol, and a call past it is
	// (rightly) a 503. This test is about who wins, so calls get time.
	redis := redistest.Start(t)
	p := startPairWith(t, fmt.Sprintf("storage redis {\n\t\t\turl redis://%s\n\t\t\ttimeout 10s\n\t\t}", redis.Addr))
	c := p.a.newClient(basic)
	f := p.a.newBrowser().login(c, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 50; i++ {
		e := p.a
		if i%2 == 1 {
			e = p.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {f.Code},
				"redirect_uri": {f.Req.Query.Get("redirect_uri")}, "code_verifier": {f.Req.Verifier}}
			r, err := e.try(e.api, e.clientRequest(c, "/token", form))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[-1]++
				return
			}
			if r.Status != http.StatusOK && r.oauthError() != "invalid_grant" {
				t.Errorf("a losing redemption answered %s", r)
			}
			statuses[r.Status]++
		}()
	}
	wg.Wait()
	if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != 49 {
		t.Fatalf("AC-03 across instances: statuses %v, want one 200 and 49 400", statuses)
	}
}

// TestRedisOutageFailsClosed_RD03_RD04_RD05_RS10: Redis killed mid-run
// gives 503s (never 401 or invalid_grant) on both instances, the gate
// included; after a restart with its AOF every client, grant and
// revocation is still there and the flow continues, without restarting
// Caddy.
func TestRedisOutageFailsClosed_RD03_RD04_RD05_RS10(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	p := startPair(t, nil, redis)
	a, b := p.a, p.b
	c := a.newClient(basic)
	tok := a.gateToken(c, p.resource, "")
	revoked := a.gateToken(c, p.resource, "")
	wantStatus(t, "revoke before the crash", a.revoke(c, revoked.Refresh), http.StatusOK, "")
	// appendfsync everysec (RD-05): what Redis has written to its AOF
	// survives the SIGKILL below; wait until it has written everything.
	redis.WaitAOFWritten()

	redis.Stop() // SIGKILL
	for _, e := range []*env{a, b} {
		start := time.Now()
		wantStatus(t, "RT-09 refresh during the outage on "+e.issuer, e.refresh(c, tok.Refresh, nil), http.StatusServiceUnavailable, "temporarily_unavailable")
		if d := time.Since(start); d > time.Second {
			t.Errorf("RD-03: the 503 took %v", d)
		}
		wantStatus(t, "register during the outage", e.register(clientMeta(public)), http.StatusServiceUnavailable, "temporarily_unavailable")
		g := e.do(e.api, mcpRequest(http.MethodPost, e.mcpURL("/github/mcp"), tok.Access, mcpInitialize))
		if g.Status != http.StatusServiceUnavailable {
			t.Errorf("RS-10 the gate on %s during the outage: %d, want 503 (a cached token must not pass while revocations cannot arrive)", e.issuer, g.Status)
		}
		nt := e.do(e.api, mcpRequest(http.MethodPost, e.mcpURL("/github/mcp"), "", mcpInitialize))
		if nt.Status != http.StatusUnauthorized {
			t.Errorf("no token during the outage: %d, want 401 (no store needed to say so)", nt.Status)
		}
	}

	redis.Restart()
	var last *response
	err := caddyproc.Poll(t.Context(), 10*time.Second, func() (bool, error) {
		last = a.do(a.api, mcpRequest(http.MethodPost, a.mcpURL("/github/mcp"), tok.Access, mcpInitialize))
		return last.Status == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("the gate did not recover after Redis came back: %v: %s", err, last)
	}
	next := b.parseTokens(b.refresh(c, tok.Refresh, nil))
	b.callWhoami(t, b.mcpURL("/github/mcp"), next.Access, "after the restart")
	wantStatus(t, "RD-05 the revocation survived", a.refresh(c, revoked.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if a.active(c, revoked.Access) {
		t.Error("RD-05: an access token of the revoked grant is active again")
	}
	wantStatus(t, "the client survived", b.manage(http.MethodGet, c.ID, c.RAT, nil), http.StatusOK, "")
}

// crossSignIn signs c in across the pair for its resource: authorize on
// B, consent on A, GitHub's callback on A (the issuer); the flow has the
// code.
func crossSignIn(t *testing.T, p *pair, c *regClient) *flow {
	t.Helper()
	a, b := p.a, p.b
	br := a.newBrowser()
	req := newAuthReq(c)
	req.Query.Set("resource", p.resource)
	page := a.get(br.c, b.url(req.path()))
	if page.Status != http.StatusOK {
		t.Fatalf("authorize on B: %s", page)
	}
	consent := br.submit(br.parseConsent(page), "approve", nil) // posted to A
	f := &flow{Req: req, GitHub: consent.location(t)}
	if f.GitHub == nil {
		t.Fatalf("consent on A: %s", consent)
	}
	br.finish(f)
	if f.Code == "" {
		t.Fatalf("callback on A: no code (%s)", f.Final)
	}
	return f
}
