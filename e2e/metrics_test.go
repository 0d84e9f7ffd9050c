package e2e

import (
	"bufio"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// samples is one scrape of Caddy's metrics: value by series, the series
// written as name{label="value",...} with labels sorted.
type samples map[string]float64

// scrape reads the admin endpoint's /metrics (Caddy's registry, ours in
// it) and parses the text exposition format.
func (e *env) scrape() samples {
	e.t.Helper()
	r := e.get(e.api, "http://"+e.caddy.admin+"/metrics")
	if r.Status != http.StatusOK {
		e.t.Fatalf("GET /metrics: %s", short(r.Body))
	}
	out := samples{}
	sc := bufio.NewScanner(strings.NewReader(r.Body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("metrics line %q: %v", line, err)
		}
		out[canonicalSeries(line[:i])] = v
	}
	return out
}

// canonicalSeries sorts the labels of name{a="1",b="2"}.
func canonicalSeries(s string) string {
	name, labels, ok := strings.Cut(s, "{")
	if !ok {
		return s
	}
	parts := strings.Split(strings.TrimSuffix(labels, "}"), ",")
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// series builds the canonical name of a series from label pairs.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var parts []string
	for i := 0; i+1 < len(labels); i += 2 {
		parts = append(parts, labels[i]+`="`+labels[i+1]+`"`)
	}
	return canonicalSeries(name + "{" + strings.Join(parts, ",") + "}")
}

// sum adds every series of family whose labels include all of labels.
func (s samples) sum(family string, labels ...string) float64 {
	total := 0.0
	for k, v := range s {
		name, rest, _ := strings.Cut(k, "{")
		if name != family {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && strings.Contains(rest, labels[i]+`="`+labels[i+1]+`"`)
		}
		if match {
			total += v
		}
	}
	return total
}

// TestMetricsAfterFlow: after registrations, a login with consent, token
// and refresh grants, a refused refresh, gate requests (ok, no token, bad
// token, cached), a revocation and a refresh-token reuse, every family of
// the issue is present in Caddy's /metrics and moved by exactly what the
// flow did; no label carries a user, client id or path.
func TestMetricsAfterFlow(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	e, _ := newMCPEnv(t, caddyConfig{Admin: true, RefreshGrace: "1ms",
		Env:   []string{"SSL_CERT_FILE=" + ds.certPEM},
		Extra: []string{"client_id_metadata {", "\tprivate_hosts " + ds.host, "}"}}, "")
	before := e.scrape()
	resource := e.mcpURL("/github/mcp")

	c := e.newClient(basic)
	tok := e.gateToken(c, resource, "")
	wantStatus(t, "a gated call", e.mcpPost("/github/mcp", tok.Access), http.StatusOK, "")
	wantStatus(t, "a cached gated call", e.mcpPost("/github/mcp", tok.Access), http.StatusOK, "")
	wantStatus(t, "no token", e.mcpPost("/github/mcp", ""), http.StatusUnauthorized, "")
	wantStatus(t, "a bad token", e.mcpPost("/github/mcp", "not-a-token"), http.StatusUnauthorized, "")
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	wantStatus(t, "refresh reuse", e.refresh(c, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantStatus(t, "refresh of the revoked grant", e.refresh(c, next.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	other := e.newClient(basic)
	otherTok := e.gateToken(other, resource, "")
	wantStatus(t, "revoke", e.revoke(other, otherTok.Refresh), http.StatusOK, "")
	doc := ds.publish(t, "/client.json", map[string]any{"client_id": ds.id("/client.json"), "client_name": "Doc",
		"redirect_uris": []string{"https://app.test/cb"}})
	if f, _ := e.fullFlow(doc); f.Code == "" {
		t.Fatal("the document client's flow ended without a code")
	}
	kept := e.gateToken(c, resource, "")
	wantStatus(t, "a call that stays cached", e.mcpPost("/github/mcp", kept.Access), http.StatusOK, "")

	after := e.scrape()
	delta := func(family string, labels ...string) float64 {
		return after.sum(family, labels...) - before.sum(family, labels...)
	}
	for _, want := range []struct {
		family string
		labels []string
		n      float64
	}{
		{"mcp_oauth_registrations_total", []string{"outcome", "ok"}, 2},
		{"mcp_oauth_authorizations_total", []string{"outcome", "consent_shown"}, 4},
		{"mcp_oauth_authorizations_total", []string{"outcome", "consent_approved"}, 4},
		{"mcp_oauth_authorizations_total", []string{"outcome", "github_ok"}, 4},
		{"mcp_oauth_token_requests_total", []string{"grant_type", "authorization_code", "outcome", "ok"}, 4},
		{"mcp_oauth_token_requests_total", []string{"grant_type", "refresh_token", "outcome", "ok"}, 1},
		{"mcp_oauth_token_requests_total", []string{"grant_type", "refresh_token", "outcome", "invalid_grant"}, 2},
		{"mcp_oauth_refresh_reuse_total", nil, 1},
		{"mcp_oauth_revocations_total", []string{"kind", "grant"}, 1},
		{"mcp_oauth_gate_requests_total", []string{"outcome", "ok"}, 3},
		{"mcp_oauth_gate_requests_total", []string{"outcome", "no_token"}, 1},
		{"mcp_oauth_gate_requests_total", []string{"outcome", "invalid_token"}, 1},
		{"mcp_oauth_gate_cache_hits_total", nil, 1},
		{"mcp_oauth_cimd_fetches_total", []string{"outcome", "ok"}, 1},
	} {
		if got := delta(want.family, want.labels...); got != want.n {
			t.Errorf("%s %v moved by %v, want %v", want.family, want.labels, got, want.n)
		}
	}
	for _, family := range []string{"mcp_oauth_gate_cache_misses_total", "mcp_oauth_gate_cache_entries",
		"mcp_oauth_store_duration_seconds_count", "mcp_oauth_github_requests_total", "mcp_oauth_github_duration_seconds_count"} {
		if delta(family) <= 0 && after.sum(family) <= 0 {
			t.Errorf("%s did not move", family)
		}
	}
	if n := after.sum("mcp_oauth_github_requests_total", "endpoint", "token", "outcome", "ok"); n != 4 {
		t.Errorf("GitHub token calls: %v, want 4", n)
	}

	if _, ok := after[series("mcp_oauth_store_errors_total")]; ok {
		t.Errorf("store errors counted without labels")
	}
	for k := range after {
		if strings.HasPrefix(k, "mcp_oauth_") && (strings.Contains(k, "alice") || strings.Contains(k, c.ID) ||
			strings.Contains(k, "/github/mcp")) {
			t.Errorf("a series names a user, client or path: %s", k)
		}
	}
}
