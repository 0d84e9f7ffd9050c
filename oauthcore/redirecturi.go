package oauthcore

import (
	"errors"
	"net"
	"net/url"
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
		if !isLoopbackLiteral(u) {
			return errors.New("http redirect URIs are only allowed for 127.0.0.1, [::1] and localhost; use https")
		}
		return nil
	case contains(deniedSchemes, scheme):
		return errors.New("redirect URI scheme " + scheme + " is not allowed")
	case len(c.PrivateSchemes) > 0 && !contains(c.PrivateSchemes, scheme):
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

// isLoopbackLiteral accepts exactly the hosts 127.0.0.1, [::1] and
// localhost: not look-alikes such as localhost.evil.test, decimal or hex
// encodings of 127.0.0.1, or other addresses in 127/8.
func isLoopbackLiteral(u *url.URL) bool {
	switch u.Hostname() {
	case "127.0.0.1", "localhost":
		return !strings.HasPrefix(u.Host, "[")
	case "::1":
		return strings.HasPrefix(u.Host, "[::1]")
	}
	return false
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
	if err != nil || req.Scheme != "http" || !isLoopbackLiteral(req) || req.User != nil || req.Fragment != "" || strings.Contains(requested, "#") {
		return false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || reg.Scheme != "http" || !isLoopbackLiteral(reg) {
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

// CanonicalResource is the form a resource indicator is compared in: the
// scheme and host lowercased, a default port dropped and no trailing slash
// (so https://mcp.example.com/github/ and https://mcp.example.com/github
// name the same resource). The gate uses the same function for its
// audience, so the two always agree byte for byte.
func CanonicalResource(raw string) (string, error) {
	if err := checkResource(raw); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	u.Host = host
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// checkResource validates an RFC 8707 resource indicator: an absolute
// https URI (http on loopback) without fragment or user info (RS-01). It
// also refuses what no gate could ever match as an audience, so the client
// hears it now rather than from a token that fails later: a query (RFC
// 8707 §2: SHOULD NOT), dot segments and encoded slashes (which name the
// same path two ways).
func checkResource(raw string) error {
	if len(raw) > maxRedirectURIBytes {
		return errors.New("resource is too long")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("resource must be an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return errors.New("resource must not have a fragment or user info")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return errors.New("resource must not have a query")
	}
	if hasDotSegment(u.EscapedPath()) || strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
		return errors.New("resource must not have dot segments or encoded slashes in its path")
	}
	s := strings.ToLower(u.Scheme)
	if s != "https" && !(s == "http" && isLoopbackHost(u.Hostname())) {
		return errors.New("resource must use https")
	}
	return nil
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment,
// also percent-encoded (RFC 3986 §3.3, §6.2.2.3).
func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return true
		}
	}
	return false
}
