package oauthcore

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// RFC 8707 resource indicators: the canonical form resources and audiences
// are compared in, what a resource may look like, and which resources this
// server issues tokens for.

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
	if s != "https" && !(s == "http" && IsLoopbackHost(u.Hostname())) {
		return errors.New("resource must use https")
	}
	return nil
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment,
// also percent-encoded (RFC 3986 §3.3, §6.2.2.3). It allocates nothing:
// the gate runs it on every request path.
func hasDotSegment(p string) bool {
	for start := 0; start <= len(p); {
		end := strings.IndexByte(p[start:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += start
		}
		switch seg := p[start:end]; len(seg) {
		case 1, 2, 3, 4, 6:
			if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") ||
				strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
				return true
			}
		}
		start = end + 1
	}
	return false
}

// SplitResource splits a canonical resource URL into origin and path.
func SplitResource(resource string) (origin, path string) {
	i := strings.Index(resource, "://")
	if i < 0 {
		return resource, ""
	}
	slash := strings.IndexByte(resource[i+3:], '/')
	if slash < 0 {
		return resource, ""
	}
	return resource[:i+3+slash], resource[i+3+slash:]
}

// within reports whether path p is base or below it on a segment boundary.
func within(p, base string) bool {
	if base == "" || p == base {
		return true
	}
	return len(p) > len(base) && p[len(base)] == '/' && p[:len(base)] == base
}

// resolveResource applies RFC 8707 to an authorization request: at most
// one distinct resource (some clients repeat the same one), valid, and
// one of the configured resources when the operator listed them.
func (c *Config) resolveResource(values []string) (string, error) {
	var res string
	for _, v := range values {
		canon, err := CanonicalResource(v)
		if err != nil {
			return "", err
		}
		if res != "" && canon != res {
			return "", errors.New("only one resource may be requested")
		}
		res = canon
	}
	if res != "" && len(c.Resources) > 0 && !c.knownResource(res) {
		return "", errors.New("resource is not served by this authorization server")
	}
	if res != "" && len(c.Resources) == 0 && !c.ResourceSpace.allows(res) && !c.sameHostAsIssuer(res) {
		return "", errors.New("resource is on a host that no gate of this authorization server protects")
	}
	if res == "" && len(c.Resources) == 1 {
		// RS-02: clients that omit resource (MCP 2025-03-26 style) get the
		// one protected resource as audience when there is just one.
		return CanonicalResource(c.Resources[0])
	}
	return res, nil
}

// sameHostAsIssuer reports whether res is on the issuer's host.
func (c *Config) sameHostAsIssuer(res string) bool {
	ru, err1 := url.Parse(res)
	iu, err2 := url.Parse(c.Issuer)
	return err1 == nil && err2 == nil && strings.EqualFold(ru.Hostname(), iu.Hostname())
}

// knownResource reports whether res is one of the configured resources.
func (c *Config) knownResource(res string) bool {
	for _, r := range c.Resources {
		if canon, err := CanonicalResource(r); err == nil && canon == res {
			return true
		}
	}
	return false
}

// inConfiguredSpace reports whether res lies at or below a configured
// resource.
func (c *Config) inConfiguredSpace(res string) bool {
	ro, rp := SplitResource(res)
	for _, r := range c.Resources {
		canon, err := CanonicalResource(r)
		if err != nil {
			continue
		}
		o, p := SplitResource(canon)
		if o == ro && within(rp, p) {
			return true
		}
	}
	return false
}

// checkTarget: a resource sent at the token endpoint must be the one the
// grant is for (RFC 8707 §2.2); anything else is invalid_target.
func checkTarget(p params, granted string) error {
	for _, v := range p["resource"] {
		canon, err := CanonicalResource(v)
		if err != nil || canon != granted {
			return invalidTarget("resource does not match the authorization")
		}
	}
	return nil
}
