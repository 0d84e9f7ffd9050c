package oauthcore

import (
	"slices"
	"testing"
)

func TestResolveResource(t *testing.T) {
	one := &Config{Resources: []string{"https://mcp.example.com/github"}}
	two := &Config{Resources: []string{"https://mcp.example.com/github", "https://mcp.example.com/fetch"}}
	open := &Config{}
	tests := []struct {
		name    string
		s       *Config
		in      []string
		want    string
		wantErr bool
	}{
		{"none asked, none configured: the issuer later", open, nil, "", false},
		{"none asked, one configured: that one (RS-02)", one, nil, "https://mcp.example.com/github", false},
		{"none asked, two configured", two, nil, "", false},
		{"a listed one", two, []string{"https://mcp.example.com/fetch/"}, "https://mcp.example.com/fetch", false},
		{"an unlisted one (RS-01)", two, []string{"https://other.test/"}, "", true},
		{"any https when none configured", open, []string{"https://x.test/mcp"}, "https://x.test/mcp", false},
		{"the same one twice", open, []string{"https://x.test/mcp", "https://x.test/mcp"}, "https://x.test/mcp", false},
		{"two different ones", open, []string{"https://x.test/a", "https://x.test/b"}, "", true},
		{"fragment (RS-01)", open, []string{"https://x.test/mcp#x"}, "", true},
		{"relative (RS-01)", open, []string{"mcp"}, "", true},
		{"query", open, []string{"https://x.test/mcp?a=1"}, "", true},
		{"empty query", open, []string{"https://x.test/mcp?"}, "", true},
		{"empty fragment", open, []string{"https://x.test/mcp#"}, "", true},
		{"dot segment", open, []string{"https://x.test/a/../mcp"}, "", true},
		{"single dot", open, []string{"https://x.test/./mcp"}, "", true},
		{"encoded dot segment", open, []string{"https://x.test/a/%2E%2E/mcp"}, "", true},
		{"encoded slash", open, []string{"https://x.test/a%2Fb"}, "", true},
		{"canonical form", open, []string{"HTTPS://X.Test:443/mcp/"}, "https://x.test/mcp", false},
		{"one configured, canonicalised", &Config{Resources: []string{"https://MCP.example.com:443/github/"}}, nil, "https://mcp.example.com/github", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.resolveResource(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("resolveResource(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
}

// TestResourceSpace: with no resources listed, tokens are issued only for
// hosts the space holds and the issuer's, whatever the port or scheme; an
// unset space admits every host.
func TestResourceSpace(t *testing.T) {
	t.Parallel()
	space := &ResourceSpace{}
	c := &Config{Issuer: "https://auth.example.com", ResourceSpace: space}
	if _, err := c.resolveResource([]string{"https://evil.example/mcp"}); err != nil {
		t.Fatalf("a space never set refused: %v", err)
	}
	space.Set([]string{"mcp.example.com", "*.tools.example.com", "[::1]", "127.0.0.1"})
	for res, ok := range map[string]bool{
		"https://mcp.example.com/github/mcp":    true,
		"https://MCP.example.com:8443/mcp":      true,
		"https://a.tools.example.com/mcp":       true,
		"https://tools.example.com/mcp":         false, // the apex is not a subdomain
		"https://auth.example.com/mcp":          true,  // the issuer's host
		"http://127.0.0.1:9000/mcp":             true,
		"http://[::1]:9000/mcp":                 true,
		"https://evil.example/":                 false,
		"https://mcp.example.com.evil.test/mcp": false,
	} {
		_, err := c.resolveResource([]string{res})
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed %v", res, err, ok)
		}
	}
	if got := space.Hosts(); !slices.Equal(got, []string{"*.tools.example.com", "127.0.0.1", "::1", "mcp.example.com"}) {
		t.Errorf("Hosts() = %v", got)
	}
	space.Set([]string{"*"})
	if _, err := c.resolveResource([]string{"https://evil.example/mcp"}); err != nil {
		t.Errorf("a space with every host refused: %v", err)
	}
	listed := &Config{Issuer: c.Issuer, ResourceSpace: &ResourceSpace{}, Resources: []string{"https://other.example/mcp"}}
	listed.ResourceSpace.Set([]string{"mcp.example.com"})
	if _, err := listed.resolveResource([]string{"https://other.example/mcp"}); err != nil {
		t.Errorf("resources listed win over the space: %v", err)
	}
}
