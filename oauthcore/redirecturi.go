package oauthcore

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// maxRedirectURIBytes bounds one redirect URI (RU-06).
const maxRedirectURIBytes = 2048

// deniedSchemes can never receive a code, even if an operator lists them
// as private-use schemes (RU-04).
var deniedSchemes = []string{"javascript", "data", "vbscript", "file", "blob", "about", "mailto", "ftp", "ws", "wss", "urn", "http", "https"}

// checkRedirectURI enforces the registration policy for one redirect URI:
// https anywhere, http only on literal loopback hosts, and private-use
// schemes that are reverse-DNS names or on the operator's list.
func (c *Config) checkRedirectURI(raw string) error {
	if raw == "" || len(raw) > maxRedirectURIBytes {
		return errors.New("redirect URI is empty or longer than 2048 bytes")
	}
	// Reject whitespace and control characters before parsing: parsers
	// differ on them, which is how scheme deny-lists get bypassed.
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unicode.IsSpace(r) {
			return errors.New("redirect URI contains whitespace or control characters")
		}
	}
	if strings.ContainsAny(raw, "#*") {
		return errors.New("redirect URI must not contain a fragment or a wildcard")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return errors.New("redirect URI must be an absolute URI")
	}
	if u.User != nil {
		return errors.New("redirect URI must not contain user info")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "https":
		if u.Hostname() == "" {
			return errors.New("https redirect URI has no host")
		}
		return nil
	case scheme == "http":
		if !isLoopbackURL(u) {
			return errors.New("http redirect URIs are only allowed for 127.0.0.1, [::1] and localhost; use https")
		}
		return nil
	case slices.Contains(deniedSchemes, scheme):
		return errors.New("redirect URI scheme " + scheme + " is not allowed")
	case len(c.PrivateSchemes) > 0 && !slices.Contains(c.PrivateSchemes, scheme):
		return errors.New("redirect URI scheme " + scheme + " is not allowed here: use https, loopback http, or one of the schemes " + strings.Join(c.PrivateSchemes, ", "))
	}
	// RFC 8252 §7.1 asks native apps for reverse-DNS schemes, but real apps
	// (vscode, claude, cursor, zed) use short ones; PKCE and the consent
	// page, which names the scheme, protect the code either way. url.Parse
	// has already checked the RFC 3986 §3.1 scheme syntax.
	return nil
}

// isPrivateUseScheme reports whether a redirect URI goes to a native app
// through a private-use scheme rather than to a web or loopback address.
func isPrivateUseScheme(u *url.URL) bool {
	s := strings.ToLower(u.Scheme)
	return s != "http" && s != "https"
}

// IsLoopbackHost is the one loopback rule of this project: exactly the
// hosts localhost, 127.0.0.1 and ::1 (as url.URL.Hostname returns them,
// without brackets). Not look-alikes such as localhost.evil.test, decimal,
// hex or IPv4-mapped spellings of 127.0.0.1, or other addresses in 127/8:
// they are where parsers disagree. It decides loopback redirect URIs,
// plain-http issuers and resources, and the gate's loopback origins.
func IsLoopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// isLoopbackURL applies IsLoopbackHost to a URL, with an IPv6 host in
// brackets and the others not.
func isLoopbackURL(u *url.URL) bool {
	h := u.Hostname()
	return IsLoopbackHost(h) && strings.HasPrefix(u.Host, "[") == (h == "::1")
}

// matchRedirectURI reports whether a requested redirect URI is one the
// client registered: the exact string, or for loopback http the same URI
// on any port (RFC 8252 §7.3). Nothing else is normalized (RU-01, RU-02).
func matchRedirectURI(registered []string, requested string) bool {
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	req, err := url.Parse(requested)
	if err != nil || req.Scheme != "http" || !isLoopbackURL(req) || req.User != nil || req.Fragment != "" || strings.Contains(requested, "#") {
		return false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || reg.Scheme != "http" || !isLoopbackURL(reg) {
			continue
		}
		if withoutPort(reg) == withoutPort(req) {
			return true
		}
	}
	return false
}

// withoutPort renders u with its port removed; hosts are compared as
// written, so [::1] never matches 127.0.0.1.
func withoutPort(u *url.URL) string {
	v := *u
	v.Host = u.Hostname()
	if strings.Contains(v.Host, ":") {
		v.Host = "[" + v.Host + "]"
	}
	return v.String()
}
