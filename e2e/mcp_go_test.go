package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// tokenRecorder remembers every bearer token the client sends.
type tokenRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := req.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		r.mu.Lock()
		if n := len(r.tokens); n == 0 || r.tokens[n-1] != h[7:] {
			r.tokens = append(r.tokens, h[7:])
		}
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *tokenRecorder) distinct() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// TestMCPGoSDK is the official MCP Go SDK end to end, with its own OAuth
// support: the client meets the gate's 401, discovers the resource and the
// authorization server from it, registers dynamically, logs in with PKCE
// through consent and the fake GitHub, lists and calls tools on the real
// MCP server behind the gate, and refreshes its token when it runs short.
func TestMCPGoSDK(t *testing.T) {
	t.Parallel()
	// Access tokens of 12 s: x/oauth2 refreshes 10 s before expiry.
	e, up := newMCPEnv(t, caddyConfig{Extra: []string{"access_token_lifetime 12s"}}, "")
	insecure := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // test only: tls internal
	t.Cleanup(insecure.CloseIdleConnections)
	rec := &tokenRecorder{next: insecure}
	hc := &http.Client{Transport: rec, Timeout: 30 * time.Second}

	redirect := "http://127.0.0.1:53682/callback"
	var logins int
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Go SDK e2e", RedirectURIs: []string{redirect},
			GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none",
		}},
		RedirectURL:         redirect,
		RequestRefreshToken: true,
		Client:              &http.Client{Transport: insecure, Timeout: 30 * time.Second},
		AuthorizationCodeFetcher: func(_ context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			logins++
			b := e.newBrowser()
			f := &flow{}
			b.run(f, args.URL)
			return &auth.AuthorizationResult{Code: f.Code, State: f.State, Iss: f.Iss}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-e2e", Version: "1.0.0"}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: e.mcpURL("/github/mcp"), HTTPClient: hc, OAuthHandler: handler,
	}, nil)
	if err != nil {
		t.Fatalf("connect through the gate: %v", err)
	}
	defer session.Close()

	tools, err := session.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "whoami" {
		t.Fatalf("tools/list: %v %+v", err, tools)
	}
	call := func() whoami {
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
		if err != nil || res.IsError {
			t.Fatalf("tools/call: %v %+v", err, res)
		}
		return whoamiResult(t, res)
	}
	who := call()
	if who.UserID != "1001" || who.UserName != "alice" || who.Authorization != "" {
		t.Fatalf("the upstream saw %+v; want alice's identity headers and no Authorization", who)
	}
	first := rec.distinct()

	time.Sleep(3 * time.Second) // time is under test: the 12 s token is now within x/oauth2's 10 s refresh window
	if again := call(); again.UserID != "1001" {
		t.Fatalf("after refresh the upstream saw %+v", again)
	}
	if got := rec.distinct(); len(got) <= len(first) {
		t.Fatalf("the client never refreshed: it sent %d distinct tokens", len(got))
	}
	if logins != 1 {
		t.Errorf("the client logged in %d times; the refresh should have spared a second login", logins)
	}
	if !strings.Contains(e.caddy.log.String(), "refresh token rotated") {
		t.Error("the server logged no refresh-token rotation")
	}
	for _, h := range up.requests() {
		if h.Get("Authorization") != "" {
			t.Fatal("RS-05: the upstream received an Authorization header")
		}
	}
}
