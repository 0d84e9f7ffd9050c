package oauthcore

import (
	"strings"
	"testing"
)

func TestCheckRedirectURI(t *testing.T) {
	cfg := &Config{}
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://app.test/cb", true},
		{"https://app.test:8443/cb?x=1", true},
		{"http://127.0.0.1:33418/", true},
		{"http://127.0.0.1/callback", true},
		{"http://[::1]:8080/cb", true},
		{"http://localhost:1234/callback", true},
		{"cursor://anysphere.cursor-mcp/oauth/callback", true},
		{"com.example.app:/cb", true},
		{"com.example.app://cb", true},
		// Short private-use schemes real apps use (RFC 8252 §7.1 asks
		// for reverse-DNS ones, but PKCE and consent protect the code).
		{"vscode://vscode.github-authentication/did-authenticate", true},
		{"claude://oauth/callback", true},
		{"windsurf://codeium.windsurf/auth", true},
		{"zed://oauth/callback", true},
		{"myapp://callback", true},
		{"myapp:callback", true},
		{"1app://cb", false},
		{"ws://app.test/cb", false},
		{"blob:https://app.test/x", false},
		{"about:blank", false},
		// RU-03: http only on literal loopback hosts.
		{"http://localhost.evil.test/cb", false},
		{"http://127.0.0.1.evil.test/cb", false},
		{"http://localhost@evil.test/cb", false},
		{"http://evil.test#@127.0.0.1/", false},
		{"http://2130706433/", false},
		{"http://0x7f.1/", false},
		{"http://127.0.0.2/", false},
		{"http://evil.test/cb", false},
		// RU-04: dangerous schemes in every disguise.
		{"javascript:alert(1)", false},
		{"JaVaScRiPt:alert(1)", false},
		{"%20javascript:alert(1)", false},
		{" javascript:alert(1)", false},
		{"java\tscript:x", false},
		{"data:text/html,x", false},
		{"file:///x", false},
		{"vbscript:x", false},
		{"https://app.test/c\x00b", false},
		{"https://app.test/c\u0085b", false},
		{"urn:ietf:wg:oauth:2.0:oob", false},
		{"ftp://app.test/cb", false},
		{"wss://app.test/cb", false},
		// RU-05, RU-06.
		{"https://app.test/cb#x", false},
		{"https://*.app.test/cb", false},
		{"https://u:p@app.test/cb", false},
		{"/cb", false},
		{"https:///cb", false},
		{"https://app.test/" + strings.Repeat("a", 3000), false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			err := cfg.checkRedirectURI(tt.uri)
			if (err == nil) != tt.ok {
				t.Errorf("checkRedirectURI(%q) = %v, want ok=%v", tt.uri, err, tt.ok)
			}
		})
	}
}

func TestRedirectSchemesAllowList(t *testing.T) {
	cfg := &Config{PrivateSchemes: []string{"cursor", "javascript"}}
	for uri, ok := range map[string]bool{
		"cursor://anysphere.cursor-mcp/oauth/callback": true,
		"https://app.test/cb":                          true,
		"http://127.0.0.1:9/cb":                        true,
		"vscode://x/cb":                                false,
		"com.example.app:/cb":                          false, // the list restricts reverse-DNS schemes too
		"javascript:alert(1)":                          false, // denied even when listed
	} {
		if err := cfg.checkRedirectURI(uri); (err == nil) != ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok=%v", uri, err, ok)
		}
	}
}

func TestMatchRedirectURI(t *testing.T) {
	tests := []struct {
		registered []string
		requested  string
		ok         bool
	}{
		// RU-01: exact match, nothing normalized.
		{[]string{"https://app.test/cb"}, "https://app.test/cb", true},
		{[]string{"https://app.test/cb"}, "https://app.test/cb/", false},
		{[]string{"https://app.test/cb"}, "https://app.test/cb?x=1", false},
		{[]string{"https://app.test/cb"}, "https://app.test/CB", false},
		{[]string{"https://app.test/cb"}, "https://app.test/cb#f", false},
		{[]string{"https://app.test/cb"}, "https://app.test/cb/../cb", false},
		{[]string{"https://app.test/cb"}, "https://app.test/cb%2F", false},
		{[]string{"https://app.test/cb"}, "https://app.test:443/cb", false},
		{[]string{"https://app.test/cb"}, "https://APP.test/cb", false},
		// RU-02: any port on loopback http, nothing else flexible.
		{[]string{"http://127.0.0.1:33418/"}, "http://127.0.0.1:59656/", true},
		{[]string{"http://127.0.0.1:33418/"}, "http://127.0.0.1/", true},
		{[]string{"http://127.0.0.1:33418/"}, "http://127.0.0.1:59656/x", false},
		{[]string{"http://127.0.0.1:33418/"}, "http://[::1]:59656/", false},
		{[]string{"http://127.0.0.1:33418/"}, "https://127.0.0.1:1/", false},
		{[]string{"http://localhost/callback"}, "http://localhost:45678/callback", true},
		{[]string{"http://localhost/callback"}, "http://localhost:45678/callback?x", false},
		{[]string{"http://[::1]:1/cb"}, "http://[::1]:2/cb", true},
		{[]string{"https://app.test:1/cb"}, "https://app.test:2/cb", false},
		{[]string{"http://127.0.0.1/cb"}, "http://u@127.0.0.1:5/cb", false},
	}
	for _, tt := range tests {
		t.Run(tt.requested, func(t *testing.T) {
			if got := matchRedirectURI(tt.registered, tt.requested); got != tt.ok {
				t.Errorf("matchRedirectURI(%q, %q) = %v, want %v", tt.registered, tt.requested, got, tt.ok)
			}
		})
	}
}

func TestCanonicalResource(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://mcp.example.com/github", "https://mcp.example.com/github"},
		{"https://mcp.example.com/github/", "https://mcp.example.com/github"},
		{"HTTPS://MCP.example.com:443/github", "https://mcp.example.com/github"},
		{"https://mcp.example.com", "https://mcp.example.com"},
		{"https://mcp.example.com/", "https://mcp.example.com"},
		{"https://mcp.example.com:8443/x", "https://mcp.example.com:8443/x"},
		{"http://127.0.0.1:9000/mcp", "http://127.0.0.1:9000/mcp"},
		{"https://other.test/mcp#x", ""},
		{"mcp", ""},
		{"javascript:alert(1)", ""},
		{"http://mcp.example.com/mcp", ""},
		{"https://u:p@mcp.example.com/", ""},
	}
	for _, tt := range tests {
		got, err := CanonicalResource(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("CanonicalResource(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CanonicalResource(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
