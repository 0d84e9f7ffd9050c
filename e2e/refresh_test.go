package e2e

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// TestRefreshRotation_RT01_RT02_RT05_RT06_RT10: an MCP-shaped client gets
// a refresh token; it is bound to its client, can only narrow, rotates on
// use, and is never an access token.
func TestRefreshRotation_RT01_RT02_RT05_RT06_RT10(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	other := e.newClient(basic)
	_, tok := e.fullFlow(c)
	if tok.Refresh == "" {
		t.Fatal("RT-01: the default registration got no refresh_token")
	}
	if tok.Type != "Bearer" || tok.Scope != "mcp" || tok.ExpiresIn <= 0 {
		t.Errorf("token response: type %q scope %q expires_in %v", tok.Type, tok.Scope, tok.ExpiresIn)
	}

	wantStatus(t, "RT-05 another client's refresh token", e.refresh(other, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantStatus(t, "RT-06 an extra scope", e.refresh(c, tok.Refresh, url.Values{"scope": {"mcp admin"}}), http.StatusBadRequest, "invalid_scope")
	wantStatus(t, "RT-06 another resource", e.refresh(c, tok.Refresh, url.Values{"resource": {"https://other.test/mcp"}}),
		http.StatusBadRequest, "invalid_target")

	if e.active(c, tok.Refresh) {
		t.Error("RT-10: a refresh token introspects as an active access token")
	}
	if e.active(other, tok.Refresh) {
		t.Error("RT-10: a refresh token introspects as active for another client")
	}

	// After all of the above the same refresh token still works, and rotates.
	next := e.parseTokens(e.refresh(c, tok.Refresh, url.Values{"scope": {"mcp"}}))
	if next.Refresh == "" || next.Refresh == tok.Refresh || next.Access == tok.Access {
		t.Errorf("RT-02: refresh did not rotate: RT changed %t, AT changed %t", next.Refresh != tok.Refresh, next.Access != tok.Access)
	}
	if next.Scope != "mcp" {
		t.Errorf("refreshed scope %q", next.Scope)
	}
	if !e.active(c, next.Access) {
		t.Error("the refreshed access token is not active")
	}
	e.parseTokens(e.refresh(c, next.Refresh, nil))
}

// TestRefreshReuseAfterGrace_RT03: the previous refresh token presented
// after the grace window revokes the whole family.
func TestRefreshReuseAfterGrace_RT03(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{RefreshGrace: "1s"})
	c := e.newClient(basic)
	_, t1 := e.fullFlow(c)
	t2 := e.parseTokens(e.refresh(c, t1.Refresh, nil))
	time.Sleep(1500 * time.Millisecond) // time is under test: past the 1 s grace window
	wantStatus(t, "RT-03 RT1 after the grace window", e.refresh(c, t1.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantStatus(t, "RT-03 RT2 after RT1's reuse", e.refresh(c, t2.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if e.active(c, t2.Access) {
		t.Error("RT-03: AT2 is still active after the family was revoked")
	}
	if e.active(c, t1.Access) {
		t.Error("RT-03: AT1 is still active after the family was revoked")
	}
}

// TestRefreshConcurrentInGrace_RT04: 20 parallel refreshes with the same
// token inside the grace window all succeed with one successor, which
// then works.
func TestRefreshConcurrentInGrace_RT04(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{RefreshGrace: "10s"})
	c := e.newClient(basic)
	_, tok := e.fullFlow(c)
	const n = 20
	var wg sync.WaitGroup
	results := make([]*response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := e.clientRequest(c, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}})
			<-start
			results[i], errs[i] = e.try(e.api, req)
		}(i)
	}
	close(start)
	wg.Wait()
	successors := map[string]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Errorf("refresh %d: %v", i, errs[i])
			continue
		}
		if r.Status != http.StatusOK {
			t.Errorf("RT-04 refresh %d: %d %s", i, r.Status, r.Body)
			continue
		}
		rt, _ := r.json(t)["refresh_token"].(string)
		successors[rt]++
		e.remember(rt, r.json(t)["access_token"].(string))
	}
	if len(successors) != 1 {
		t.Fatalf("RT-04: %d distinct successors, want 1", len(successors))
	}
	for rt := range successors {
		if rt == tok.Refresh {
			t.Fatal("RT-04: the successor is the presented token")
		}
		e.parseTokens(e.refresh(c, rt, nil))
	}
}
