package cimd

import (
	"net/url"
	"strings"
	"testing"
)

func TestValidClientIDURL(t *testing.T) {
	t.Parallel()
	long := "https://example.com/" + strings.Repeat("a", MaxClientIDLength-len("https://example.com/"))
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"claude code", "https://claude.ai/oauth/claude-code-client-metadata", true},
		{"port", "https://example.com:8443/client.json", true},
		{"query", "https://example.com/client?id=1&v=2", true},
		{"sub-delims and pct", "https://example.com/a(b)!*'$;=:@,+&x/%41%e2%82%ac", true},
		{"ipv4 literal", "https://192.0.2.1/c", true},
		{"ipv6 literal", "https://[2001:db8::1]:8443/c", true},
		{"mapped literal parses, dial refuses", "https://[::ffff:127.0.0.1]/c", true},
		{"single label", "https://localhost/c", true},
		{"triple dot segment is a name", "https://example.com/.../c", true},
		{"dotted file name", "https://example.com/.well-known/client.json", true},
		{"empty segment", "https://example.com//c", true},
		{"at the length bound", long, true},

		{"too long", long + "a", false},
		{"http", "http://example.com/c", false},
		{"upper-case scheme", "HTTPS://example.com/c", false},
		{"no scheme", "example.com/c", false},
		{"no path", "https://example.com", false},
		{"root path", "https://example.com/", false},
		{"query without path", "https://example.com?x", false},
		{"fragment", "https://example.com/c#f", false},
		{"empty fragment", "https://example.com/c#", false},
		{"user info", "https://user@example.com/c", false},
		{"user and password", "https://u:p@example.com/c", false},
		{"dot", "https://example.com/./c", false},
		{"dot dot", "https://example.com/a/../c", false},
		{"trailing dot dot", "https://example.com/a/..", false},
		{"encoded dot", "https://example.com/%2e/c", false},
		{"encoded dot dot", "https://example.com/%2E%2e/c", false},
		{"half-encoded dot dot", "https://example.com/.%2E/c", false},
		{"encoded slash", "https://example.com/a%2Fb", false},
		{"encoded backslash", "https://example.com/a%5cb", false},
		{"encoded nul", "https://example.com/a%00b", false},
		{"bad pct", "https://example.com/a%zz", false},
		{"truncated pct", "https://example.com/a%4", false},
		{"space", "https://example.com/a b", false},
		{"backslash", "https://example.com/a\\b", false},
		{"non-ascii path", "https://example.com/é", false},
		{"empty query", "https://example.com/c?", false},
		{"query with space", "https://example.com/c?a b", false},
		{"upper-case host", "https://Example.com/c", false},
		{"trailing dot host", "https://example.com./c", false},
		{"empty host", "https:///c", false},
		{"underscore host", "https://a_b.example.com/c", false},
		{"hyphen label", "https://-a.example.com/c", false},
		{"idn raw", "https://exämple.com/c", false},
		{"short ipv4", "https://127.1/c", false},
		{"hex ipv4", "https://0x7f.0.0.1/c", false},
		{"decimal ipv4", "https://2130706433/c", false},
		{"octal ipv4", "https://0177.0.0.1/c", false},
		{"leading zero ipv4", "https://127.0.0.01/c", false},
		{"ipv6 zone", "https://[fe80::1%25eth0]/c", false},
		{"ipv6 not canonical", "https://[2001:db8:0::1]/c", false},
		{"ipv6 upper case", "https://[2001:DB8::1]/c", false},
		{"ipv4 in brackets", "https://[127.0.0.1]/c", false},
		{"unterminated ipv6", "https://[::1/c", false},
		{"junk after ipv6", "https://[::1]x/c", false},
		{"empty port", "https://example.com:/c", false},
		{"zero port", "https://example.com:0/c", false},
		{"leading zero port", "https://example.com:0443/c", false},
		{"port too big", "https://example.com:65536/c", false},
		{"port not numeric", "https://example.com:https/c", false},
		{"control char", "https://example.com/c\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidClientIDURL(tt.raw)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidClientIDURL(%q) = %v, want ok=%v", tt.raw, err, tt.ok)
			}
			if err != nil {
				if k := KindOf(err); k != KindInvalidURL {
					t.Fatalf("kind = %v, want invalid_url", k)
				}
				return
			}
			checkRoundTrip(t, tt.raw)
		})
	}
}

// checkRoundTrip is the property the fetch relies on: an accepted
// client_id is what net/url renders back, so the request line carries it
// unchanged, and it has the parts the draft requires.
func checkRoundTrip(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("accepted %q, but url.Parse: %v", raw, err)
	}
	if u.String() != raw {
		t.Fatalf("accepted %q, but url renders %q", raw, u.String())
	}
	if u.Scheme != "https" || u.User != nil || u.Fragment != "" || u.Opaque != "" || u.Host == "" {
		t.Fatalf("accepted %q with scheme %q, user %v, fragment %q, host %q", raw, u.Scheme, u.User, u.Fragment, u.Host)
	}
	if u.Path == "" || u.Path == "/" {
		t.Fatalf("accepted %q with path %q", raw, u.Path)
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("accepted %q with a dot segment", raw)
		}
	}
	p, _ := parseClientID(raw)
	if u.Hostname() != p.host || u.Port() != p.port {
		t.Fatalf("accepted %q: host %q port %q, url says %q %q", raw, p.host, p.port, u.Hostname(), u.Port())
	}
}

func TestIsClientIDURL(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"https://claude.ai/x": true, "https://": true, "mcp_abc123": false, "http://example.com/c": false, "HTTPS://x/y": false,
	} {
		if got := IsClientIDURL(id); got != want {
			t.Errorf("IsClientIDURL(%q) = %v", id, got)
		}
	}
}

func TestValidClientIDURLAllocates0(t *testing.T) {
	raw := "https://claude.ai/oauth/claude-code-client-metadata"
	if n := testing.AllocsPerRun(100, func() { _ = ValidClientIDURL(raw) }); n != 0 {
		t.Fatalf("ValidClientIDURL allocates %v times", n)
	}
}
