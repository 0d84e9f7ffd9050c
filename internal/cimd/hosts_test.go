package cimd

import "testing"

func TestHostPatterns(t *testing.T) {
	t.Parallel()
	p, err := ParseHostPatterns([]string{"claude.ai", "*.Example.com", " vscode.dev ", "192.0.2.7", "[2001:db8::1]", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"claude.ai": true, "vscode.dev": true, "a.example.com": true, "a.b.example.com": true,
		"192.0.2.7": true, "2001:db8::1": true, "2001:db8:0::1": true, "::1": true,
		"example.com": false, "xexample.com": false, "claude.ai.evil": false, "evil.claude.ai": false,
		"192.0.2.8": false, "": false, ".example.com": false,
	} {
		if got := p.Match(host); got != want {
			t.Errorf("Match(%q) = %v, want %v", host, got, want)
		}
	}
	for id, want := range map[string]bool{
		"https://a.example.com:8443/c": true, "https://example.com/c": false,
		"https://[2001:db8::1]/c": true, "https://claude.ai/": false, "https://u@claude.ai/c": false,
	} {
		if got := p.MatchClientID(id); got != want {
			t.Errorf("MatchClientID(%q) = %v, want %v", id, got, want)
		}
	}
	if p.Len() != 6 {
		t.Errorf("Len = %d", p.Len())
	}
	for _, bad := range []string{"*", "*.", "a.*.com", "example.com:443", "https://example.com", "exa mple.com", "[fe80::1%eth0]", "*.1.2.3.4", "127.1"} {
		if _, err := ParseHostPatterns([]string{bad}); err == nil {
			t.Errorf("ParseHostPatterns(%q) accepted", bad)
		}
	}
}

func TestPrivateHosts(t *testing.T) {
	t.Parallel()
	list, err := parsePrivateHosts([]string{"docs.internal", "Localhost:8443", "127.0.0.1:9000", "[::1]:9001", "10.1.2.3", "::2"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, port string
		want       bool
	}{
		{"docs.internal", "443", true},
		{"docs.internal", "8443", true},
		{"localhost", "8443", true},
		{"localhost", "443", false},
		{"127.0.0.1", "9000", true},
		{"127.0.0.1", "9001", false},
		{"::1", "9001", true},
		{"::1", "9000", false},
		{"10.1.2.3", "1", true},
		{"::2", "443", true},
		{"other.internal", "443", false},
		{"sub.docs.internal", "443", false},
	}
	for _, tt := range tests {
		if got := privateAllowed(list, tt.host, tt.port); got != tt.want {
			t.Errorf("privateAllowed(%s, %s) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
	for _, bad := range []string{"*.internal", "host:0", "host:x", "a b", "[::1]:99999"} {
		if _, err := parsePrivateHosts([]string{bad}); err == nil {
			t.Errorf("parsePrivateHosts(%q) accepted", bad)
		}
	}
}
