package oauthcore

import (
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
)

// ResourceSpace is the set of hosts tokens may be issued for when
// Config.Resources is empty: the hosts whose MCP servers this
// deployment's gates protect, which the embedding program (the Caddy
// module, from its config) sets with Set, plus the issuer's host. A
// resource on any other host is invalid_target: a token minted for
// https://evil.example/ would carry the user's identity there.
//
// Hosts are compared without scheme or port: a Caddy behind a port
// mapping or a TLS-terminating proxy sees another port and scheme than
// its clients, and the host is what decides where a token may go. The
// zero value, and a space never Set, admits every host. It is safe for
// concurrent use; Set replaces the whole set at once (a config reload).
type ResourceSpace struct {
	p atomic.Pointer[hostSet]
}

// hostSet is one Set's hosts: exact names and IP literals, "*.example.com"
// suffixes, or every host.
type hostSet struct {
	any      bool
	exact    []string
	suffixes []string // ".example.com" for "*.example.com"
}

// Set makes hosts the space: host names or IP literals (IPv6 with or
// without brackets), "*.example.com" for the subdomains of example.com,
// or "*" for every host (a site that answers any Host). Case is ignored.
func (s *ResourceSpace) Set(hosts []string) {
	hs := &hostSet{}
	for _, h := range hosts {
		h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]"))
		switch {
		case h == "":
		case h == "*":
			hs.any = true
		case strings.HasPrefix(h, "*."):
			hs.suffixes = append(hs.suffixes, h[1:])
		default:
			hs.exact = append(hs.exact, h)
		}
	}
	slices.Sort(hs.exact)
	hs.exact = slices.Compact(hs.exact)
	s.p.Store(hs)
}

// Hosts lists the space as Set was given it, sorted, for logs and errors;
// nil when it admits every host.
func (s *ResourceSpace) Hosts() []string {
	hs := s.load()
	if hs == nil || hs.any {
		return nil
	}
	out := slices.Clone(hs.exact)
	for _, suf := range hs.suffixes {
		out = append(out, "*"+suf)
	}
	slices.Sort(out)
	return out
}

func (s *ResourceSpace) load() *hostSet {
	if s == nil {
		return nil
	}
	return s.p.Load()
}

// allows reports whether the canonical resource's host is in the space.
func (s *ResourceSpace) allows(resource string) bool {
	hs := s.load()
	if hs == nil || hs.any {
		return true
	}
	u, err := url.Parse(resource)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if _, found := slices.BinarySearch(hs.exact, host); found {
		return true
	}
	for _, suf := range hs.suffixes {
		if len(host) > len(suf) && strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}
