package cimd

import (
	"net/netip"
	"strings"
)

// MaxClientIDLength bounds a Client Identifier URL. The draft sets no
// limit; real ones are well under 100 bytes, and the bound keeps cache
// keys, logs and consent pages small.
const MaxClientIDLength = 1024

// IsClientIDURL reports whether clientID is meant as a Client Identifier
// URL rather than an identifier this server issued: it starts with
// "https://" (the draft's §"Supporting Both Pre-Registered and
// Unregistered Clients": issued ids never do). Whether it is a valid one
// is ValidClientIDURL's question.
func IsClientIDURL(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// ValidClientIDURL checks raw against the Client Identifier URL rules of
// draft-ietf-oauth-client-id-metadata-document §3, in their strictest
// reading, so that the string compared byte for byte with the document's
// client_id is also exactly what is fetched, and so that host policy sees
// one spelling of each host:
//
//   - the scheme is "https", written in lower case; a port is allowed
//     (any, written without leading zeros);
//   - no user info, no fragment;
//   - a path other than "/" (the draft: MUST have a path; "/" is NOT
//     RECOMMENDED, and a document at a site's root is rarely the client's);
//   - no "." or ".." segment, also when percent-encoded ("%2e", ".%2E"),
//     and no percent-encoded "/", "\" or control byte, which servers
//     decode into the same effect;
//   - only RFC 3986 path and query characters: no space, no raw non-ASCII;
//   - a query is allowed (the draft says SHOULD NOT, which binds the
//     client, not us), but not an empty one ("…/doc?");
//   - the host is a lower-case DNS name of letter-digit-hyphen labels
//     without a trailing dot, an IPv4 literal, or a bracketed IPv6 literal
//     in canonical form without a zone; a name whose last label starts
//     with a digit must be an IPv4 literal (no "127.1", "0x7f.0.0.1");
//   - at most MaxClientIDLength bytes.
//
// It allocates only when it refuses.
func ValidClientIDURL(raw string) error {
	_, err := parseClientID(raw)
	return err
}

// clientIDParts are substrings of a valid Client Identifier URL.
type clientIDParts struct {
	host string // DNS name, or IP literal without brackets
	port string // "" when the URL names none
}

func parseClientID(raw string) (clientIDParts, error) {
	var p clientIDParts
	if len(raw) > MaxClientIDLength {
		return p, invalidURL("is longer than 1024 bytes")
	}
	rest, ok := strings.CutPrefix(raw, "https://")
	if !ok {
		return p, invalidURL("must be a URL starting with https://")
	}
	i := strings.IndexAny(rest, "/?#")
	if i < 0 || rest[i] != '/' {
		return p, invalidURL("must have a path")
	}
	authority, tail := rest[:i], rest[i:]
	if strings.IndexByte(authority, '@') >= 0 {
		return p, invalidURL("must not contain user info")
	}
	var err error
	if p.host, p.port, err = splitAuthority(authority); err != nil {
		return p, err
	}
	if strings.IndexByte(tail, '#') >= 0 {
		return p, invalidURL("must not contain a fragment")
	}
	path, query, hasQuery := strings.Cut(tail, "?")
	if path == "/" {
		return p, invalidURL("must have a path other than /")
	}
	if err := checkPath(path); err != nil {
		return p, err
	}
	if hasQuery {
		if query == "" {
			return p, invalidURL("must not end with an empty query")
		}
		if err := checkQuery(query); err != nil {
			return p, err
		}
	}
	return p, nil
}

// splitAuthority splits host[:port] and checks both.
func splitAuthority(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", invalidURL("has an unterminated IPv6 literal")
		}
		host, a = a[1:end], a[end+1:]
		if err := checkIPv6Literal(host); err != nil {
			return "", "", err
		}
		if a != "" && a[0] != ':' {
			return "", "", invalidURL("has characters after its IPv6 literal")
		}
	} else {
		i := strings.IndexByte(a, ':')
		if i < 0 {
			i = len(a)
		}
		host, a = a[:i], a[i:]
		if err := checkHostname(host); err != nil {
			return "", "", err
		}
	}
	if a == "" {
		return host, "", nil
	}
	port = a[1:]
	if !validPort(port) {
		return "", "", invalidURL("has an invalid port")
	}
	return host, port, nil
}

func checkIPv6Literal(h string) error {
	addr, err := netip.ParseAddr(h)
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return invalidURL("has an invalid IPv6 literal")
	}
	if addr.String() != h {
		return invalidURL("must write its IPv6 literal in canonical form (" + addr.String() + ")")
	}
	return nil
}

// checkHostname accepts lower-case LDH labels, or an IPv4 literal when the
// last label starts with a digit: where resolvers disagree on numeric
// spellings ("127.1", "0x7f.0.0.1", "2130706433"), only the dotted quad
// netip accepts is allowed.
func checkHostname(h string) error {
	if validName(h) {
		return nil
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		return nil
	}
	if last := h[strings.LastIndexByte(h, '.')+1:]; last != "" && isDigit(last[0]) {
		return invalidURL("has a numeric host that is not a dotted-quad IPv4 address")
	}
	return invalidURL("host must be lower-case letters, digits, hyphens and dots, without a trailing dot")
}

// validName reports whether h is a host name a Client Identifier URL may
// carry (not an IP literal).
func validName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" || isDigit(last[0]) {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || isDigit(c) || c == '-') {
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// checkPath walks the path one segment at a time, refusing dot segments
// in any spelling and characters outside RFC 3986 pchar.
func checkPath(path string) error {
	for seg := range strings.SplitSeq(path[1:], "/") {
		dots, other := 0, 0
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case c == '%':
				d, ok := pctByte(seg, i)
				if !ok {
					return invalidURL("has an invalid percent-encoding")
				}
				if d == '/' || d == '\\' || d < 0x20 || d == 0x7f {
					return invalidURL("must not percent-encode /, \\ or control characters")
				}
				if d == '.' {
					dots++
				} else {
					other++
				}
				i += 2
			case c == '.':
				dots++
			case isPchar(c):
				other++
			default:
				return invalidURL("has a character not allowed in a URL path")
			}
		}
		if other == 0 && (dots == 1 || dots == 2) {
			return invalidURL("must not contain . or .. path segments")
		}
	}
	return nil
}

func checkQuery(q string) error {
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%':
			if _, ok := pctByte(q, i); !ok {
				return invalidURL("has an invalid percent-encoding")
			}
			i += 2
		case isPchar(c) || c == '/' || c == '?':
		default:
			return invalidURL("has a character not allowed in a URL query")
		}
	}
	return nil
}

// pctByte decodes the "%XX" at s[i].
func pctByte(s string, i int) (byte, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isPchar: RFC 3986 unreserved, sub-delims, ":" and "@" (pct-encoded is
// handled by the caller).
func isPchar(c byte) bool { return pcharTable[c] }

var pcharTable = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@") {
		t[c] = true
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
