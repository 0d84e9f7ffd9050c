package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpUpstream is a real MCP server behind the gate: the official Go SDK's
// Streamable HTTP handler with a whoami tool that reports the identity the
// gate handed over, and a record of the headers of every request.
type mcpUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

// whoami is what the tool reports.
type whoami struct {
	UserID        string `json:"user_id"`
	UserName      string `json:"user_name"`
	Authorization string `json:"authorization"`
}

func startMCPUpstream(t *testing.T) *mcpUpstream {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "echo-upstream", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "Reports the caller the gate identified."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
			h := req.Extra.Header
			return nil, whoami{UserID: h.Get("X-User-Id"), UserName: h.Get("X-User-Name"), Authorization: h.Get("Authorization")}, nil
		})
	return serveMCP(t, server)
}

// serveMCP serves server over Streamable HTTP on a loopback port until the
// test ends, recording the headers of every request.
func serveMCP(t *testing.T, server *mcp.Server) *mcpUpstream {
	t.Helper()
	u := &mcpUpstream{}
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// addr is the host:port reverse_proxy dials.
func (u *mcpUpstream) addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

// requests returns the headers of every request that reached the upstream.
func (u *mcpUpstream) requests() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// whoamiResult decodes the tool's structured result.
func whoamiResult(t *testing.T, res *mcp.CallToolResult) whoami {
	t.Helper()
	var w whoami
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatalf("whoami result %s: %v", raw, err)
	}
	return w
}

// newMCPEnv starts the whole stack: fake GitHub, the MCP upstream, and
// Caddy serving the authorization server on one origin and the gated MCP
// server (site body mcpSite, gatedRoute by default) on another.
func newMCPEnv(t *testing.T, cfg caddyConfig, mcpSite string) (*env, *mcpUpstream) {
	t.Helper()
	up := startMCPUpstream(t)
	if mcpSite == "" {
		mcpSite = gatedRoute
	}
	cfg.MCPSite, cfg.MCPUpstream = mcpSite, up.addr()
	return newEnv(t, cfg), up
}

// mcpURL is the MCP origin plus path.
func (e *env) mcpURL(path string) string { return e.caddy.mcp + path }
