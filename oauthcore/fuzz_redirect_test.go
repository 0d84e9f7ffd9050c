package oauthcore

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedirectURI: checkRedirectURI never panics, and what it accepts has
// no fragment and no dangerous scheme; matchRedirectURI admits a
// requested URI only when it is a registered one byte for byte, or the
// same loopback http URI on another port (RFC 8252 §7.3): same scheme,
// same host as written, same path and query.
func FuzzRedirectURI(f *testing.F) {
	for _, s := range [][2]string{
		{"https://app.test/cb", "https://app.test/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb"},
		{"http://[::1]/cb", "http://[::1]:1/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb/../x"},
		{"http://localhost/cb", "http://localhost.:80/cb"},
		{"http://127.0.0.1/cb", "http://user@127.0.0.1:1/cb"},
		{"vscode://ms-vscode/cb", "VSCODE://ms-vscode/cb"},
		{"https://app.test/cb", "https://app.test/cb#x"},
		{"javascript:alert(1)//", "javascript:alert(1)//"},
	} {
		f.Add(s[0], s[1])
	}
	cfg := &Config{Issuer: "https://auth.example.com"}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if err := cfg.checkRedirectURI(registered); err == nil {
			u, perr := url.Parse(registered)
			if perr != nil || u.Fragment != "" || strings.Contains(registered, "#") {
				t.Fatalf("accepted %q with a fragment or unparsable (%v)", registered, perr)
			}
			switch strings.ToLower(u.Scheme) {
			case "javascript", "data", "file", "vbscript", "blob", "about", "":
				t.Fatalf("accepted the scheme of %q", registered)
			}
		}
		if !matchRedirectURI([]string{registered}, requested) || requested == registered {
			return
		}
		reg, err1 := url.Parse(registered)
		req, err2 := url.Parse(requested)
		if err1 != nil || err2 != nil || req.Scheme != "http" || reg.Scheme != "http" ||
			req.Hostname() != reg.Hostname() || req.EscapedPath() != reg.EscapedPath() || req.RawQuery != reg.RawQuery ||
			!IsLoopbackHost(req.Hostname()) || req.User != nil || req.Fragment != "" {
			t.Fatalf("%q admitted for the registered %q", requested, registered)
		}
	})
}
