package cimd

import (
	"errors"
	"net"
	"net/netip"
	"strings"
)

// HostPatterns is a list of hosts as AllowedHosts takes them (and as a
// trusted-hosts list for the consent page can): a DNS name matches itself,
// "*.example.com" matches every name under example.com but not
// example.com itself, and an IP literal (with or without brackets)
// matches that address however the URL spells it. Names are compared in
// lower case, without ports.
type HostPatterns struct {
	names    []string // exact names
	suffixes []string // ".example.com" for "*.example.com"
	addrs    []netip.Addr
}

// ParseHostPatterns parses a host list; an entry that is not a name, a
// "*." wildcard or an IP literal is an error naming it.
func ParseHostPatterns(entries []string) (*HostPatterns, error) {
	p := &HostPatterns{}
	for _, e := range entries {
		h := strings.ToLower(strings.TrimSpace(e))
		if a, ok := parseIPEntry(h); ok {
			p.addrs = append(p.addrs, a)
			continue
		}
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if !validName(rest) {
				return nil, errors.New("cimd: invalid host pattern " + e)
			}
			p.suffixes = append(p.suffixes, "."+rest)
			continue
		}
		if !validName(h) {
			return nil, errors.New("cimd: invalid host " + e + " (a host name, *.name or an IP literal, without port)")
		}
		p.names = append(p.names, h)
	}
	return p, nil
}

// Len is the number of entries.
func (p *HostPatterns) Len() int { return len(p.names) + len(p.suffixes) + len(p.addrs) }

// Match reports whether host (a lower-case name or an IP literal without
// brackets, as in a valid Client Identifier URL) is listed.
func (p *HostPatterns) Match(host string) bool {
	for _, n := range p.names {
		if n == host {
			return true
		}
	}
	for _, s := range p.suffixes {
		if len(host) > len(s) && strings.HasSuffix(host, s) {
			return true
		}
	}
	if len(p.addrs) > 0 {
		if a, err := netip.ParseAddr(host); err == nil {
			for _, b := range p.addrs {
				if a == b {
					return true
				}
			}
		}
	}
	return false
}

// MatchClientID reports whether the host of a valid Client Identifier URL
// is listed; an invalid URL matches nothing.
func (p *HostPatterns) MatchClientID(clientID string) bool {
	parts, err := parseClientID(clientID)
	return err == nil && p.Match(parts.host)
}

// privateHost is one PrivateHosts entry: a host, and a port when the
// entry names one.
type privateHost struct {
	name string
	addr netip.Addr
	port string
}

// parsePrivateHosts parses host, host:port, IPv6 literals bare or in
// brackets, and [v6]:port.
func parsePrivateHosts(entries []string) ([]privateHost, error) {
	var out []privateHost
	for _, e := range entries {
		h := strings.ToLower(strings.TrimSpace(e))
		var ph privateHost
		if a, ok := parseIPEntry(h); ok {
			ph.addr = a
		} else {
			if host, port, err := net.SplitHostPort(h); err == nil {
				h, ph.port = host, port
				if !validPort(port) {
					return nil, errors.New("cimd: invalid port in private host " + e)
				}
			}
			if a, ok := parseIPEntry(h); ok {
				ph.addr = a
			} else if validName(h) {
				ph.name = h
			} else {
				return nil, errors.New("cimd: invalid private host " + e + " (host or host:port)")
			}
		}
		out = append(out, ph)
	}
	return out, nil
}

// privateAllowed reports whether host:port (from the URL, the port
// defaulted to 443) may reach private addresses.
func privateAllowed(list []privateHost, host, port string) bool {
	var addr netip.Addr
	for _, ph := range list {
		if ph.port != "" && ph.port != port {
			continue
		}
		if ph.name != "" && ph.name == host {
			return true
		}
		if ph.addr.IsValid() {
			if !addr.IsValid() {
				addr, _ = netip.ParseAddr(host)
			}
			if addr == ph.addr {
				return true
			}
		}
	}
	return false
}

// parseIPEntry accepts "1.2.3.4", "::1" and "[::1]", without a zone.
func parseIPEntry(h string) (netip.Addr, bool) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	a, err := netip.ParseAddr(h)
	return a, err == nil && a.Zone() == ""
}
