package e2e

import (
	"net/http"
	"testing"
)

// TestResourceSpace_RS11: with resources unset, the real Caddy issues
// tokens only for hosts its config's gates protect: the MCP site (a gate
// without a resource option, under the site's host), a gate's resource
// option, a forward_auth's /verify?resource=, and the issuer's own host.
// Any other host is invalid_target at /authorize, so no token carrying
// the user's identity can be minted for https://evil.example/. A reload
// that adds a gate for a host admits that host at once.
func TestResourceSpace_RS11(t *testing.T) {
	t.Parallel()
	up := startMCPUpstream(t)
	cfg := caddyConfig{Admin: true, MCPSite: gatedRoute, MCPUpstream: up.addr(),
		SiteExtra: append(gatesFor("mcp.example.test"),
			"route /fa/* {",
			"\tforward_auth 127.0.0.1:1 {", "\t\turi /verify?resource=https://fa.example.test/mcp", "\t}",
			"\trespond 204", "}")}
	e := newEnv(t, cfg)
	c := e.newClient(public)
	b := e.newBrowser()
	b.approveOnce(c)
	try := func(res string) *response {
		a := newAuthReq(c)
		a.Query.Set("resource", res)
		return e.get(b.c, a.path())
	}
	admitted := func(res string) {
		t.Helper()
		if r := try(res); r.Status >= 400 || r.Header.Get("Location") != "" && r.location(t).Query().Get("error") != "" {
			t.Errorf("resource %s: refused (%d %s), want it admitted", res, r.Status, r.Header.Get("Location"))
		}
	}
	refused := func(res string) {
		t.Helper()
		r := try(res)
		if loc := r.location(t); r.Status != http.StatusFound || loc == nil || loc.Query().Get("error") != "invalid_target" {
			t.Errorf("resource %s: got %d %s, want error=invalid_target", res, r.Status, textOf(r.Body))
		}
	}
	admitted(e.mcpURL("/github/mcp"))
	admitted("https://mcp.example.test/mcp")
	admitted("https://mcp.example.test:8443/other") // the host decides, not the port or path
	admitted("https://fa.example.test/mcp")
	admitted(e.issuer + "/anything")
	for _, res := range []string{"https://evil.example/", "https://evil.example/mcp",
		"https://sub.mcp.example.test/mcp", "https://mcp.example.test.evil.example/mcp", "https://new.example.test/mcp"} {
		refused(res)
	}

	e.caddy.cfg.SiteExtra = append(e.caddy.cfg.SiteExtra,
		"route /__new/* {", "\tmcp_oauth_verify {", "\t\tresource https://new.example.test/mcp", "\t}", "\trespond 204", "}")
	e.caddy.reload()
	admitted("https://new.example.test/mcp")
	refused("https://evil.example/")
}
