package oauthcore

import (
	"slices"
	"testing"
)

func TestRegisteredScope(t *testing.T) {
	cfg := Config{Scopes: []string{"mcp", "admin"}, DefaultScope: "mcp"}
	for requested, want := range map[string]string{
		"":                      "",
		"   ":                   "",
		"claudeai":              "mcp",
		"openid profile email":  "mcp",
		"read write":            "mcp",
		"offline_access":        "mcp",
		"mcp offline_access":    "mcp",
		"admin claudeai":        "admin",
		"mcp admin mcp":         "mcp admin",
		"offline_access admin ": "admin",
	} {
		if got := cfg.registeredScope(requested); got != want {
			t.Errorf("registeredScope(%q) = %q, want %q", requested, got, want)
		}
	}
}

func TestGrantScope(t *testing.T) {
	s := &Config{Scopes: []string{"mcp", "admin"}, DefaultScope: "mcp"}
	client := func(scope string) *Client { return &Client{Metadata: Metadata{Scope: scope}} }
	tests := []struct {
		registered, requested, want string
		ok                          bool
	}{
		{"", "", "mcp", true},
		{"", "admin", "admin", true}, // registered none: any configured scope
		{"", "claudeai", "mcp", true},
		{"", "openid profile email offline_access", "mcp", true},
		{"mcp", "", "mcp", true},
		{"mcp", "read write", "mcp", true},
		{"mcp", "mcp admin", "", false}, // asks past its own registration (AZ-10)
		{"admin", "", "admin", true},    // default outside the registration: all it has
		{"mcp admin", "admin offline_access", "admin", true},
	}
	for _, tt := range tests {
		got, ok := s.grantScope(client(tt.registered), tt.requested)
		if got != tt.want || ok != tt.ok {
			t.Errorf("registered %q, requested %q: got %q %v, want %q %v", tt.registered, tt.requested, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChallengeScope(t *testing.T) {
	cfg := Config{Scopes: []string{"mcp", "admin"}, DefaultScope: "mcp offline_access"}
	if got := cfg.challengeScope(nil); !slices.Equal(got, []string{"mcp"}) {
		t.Errorf("no required scopes: %q, want the default scope without offline_access", got)
	}
	if got := cfg.challengeScope([]string{"admin"}); !slices.Equal(got, []string{"admin"}) {
		t.Errorf("required admin: %q", got)
	}
}
