package cimd

import (
	"net/netip"
)

// The dial-time address rule (SS-02; the draft's §"Server Side Request
// Forgery (SSRF) Attacks": never fetch from special-use addresses, RFC
// 6890 and the IANA special-purpose registries that continue it).
//
// Addresses fall in three classes. Public ones may be dialled. Private
// ones (loopback, RFC 1918, CGNAT, unique-local) may be dialled only for a
// host listed in PrivateHosts: that is how tests and intranets reach a
// document server on 127.0.0.1 or 10.x. Reserved ones are never dialled,
// whatever the configuration: link-local (169.254.169.254 is the cloud
// metadata service), unspecified, multicast, broadcast, documentation,
// benchmarking and the rest.
//
// IPv6 is checked by allow-list: only global unicast 2000::/3 is public,
// less its special blocks, so ::/96 (IPv4-compatible), 100::/64 (discard),
// fe80::/10, fec0::/10, ff00::/8 and future assignments are reserved. IPv6
// forms that carry an IPv4 address (mapped ::ffff:0:0/96, translated
// ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the
// IPv4 address they carry, since that is where the packets end up.

type addrClass uint8

const (
	classPublic addrClass = iota
	classPrivate
	classReserved
)

type special struct {
	prefix netip.Prefix
	class  addrClass
	name   string
}

var specialV4 = []special{
	{netip.MustParsePrefix("0.0.0.0/8"), classReserved, "this-network"},
	{netip.MustParsePrefix("10.0.0.0/8"), classPrivate, "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), classPrivate, "shared (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), classPrivate, "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), classReserved, "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), classPrivate, "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), classReserved, "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), classReserved, "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), classReserved, "6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), classPrivate, "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), classReserved, "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), classReserved, "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), classReserved, "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), classReserved, "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), classReserved, "reserved or broadcast"},
}

var (
	globalV6     = netip.MustParsePrefix("2000::/3")
	uniqueLocal  = netip.MustParsePrefix("fc00::/7")
	translatedV6 = netip.MustParsePrefix("::ffff:0:0:0/96")
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
)

var specialGlobalV6 = []special{
	{netip.MustParsePrefix("2001::/23"), classReserved, "IETF protocol assignment (Teredo, ORCHID, benchmarking)"},
	{netip.MustParsePrefix("2001:db8::/32"), classReserved, "documentation"},
	{netip.MustParsePrefix("3fff::/20"), classReserved, "documentation"},
}

// classify returns the class of a and, when it is not public, a short name
// for the error message.
func classify(a netip.Addr) (addrClass, string) {
	switch {
	case !a.IsValid() || a.Zone() != "":
		return classReserved, "zoned or invalid"
	case a.Is4():
		return classifyV4(a)
	case a.Is4In6():
		return classifyV4(a.Unmap())
	}
	b := a.As16()
	switch {
	case a == netip.IPv6Loopback():
		return classPrivate, "loopback"
	case translatedV6.Contains(a), nat64.Contains(a):
		return classifyV4(netip.AddrFrom4([4]byte(b[12:16])))
	case uniqueLocal.Contains(a):
		return classPrivate, "unique-local"
	case !globalV6.Contains(a):
		return classReserved, "special-use IPv6"
	case sixToFour.Contains(a):
		return classifyV4(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return lookupSpecial(specialGlobalV6, a)
}

func classifyV4(a netip.Addr) (addrClass, string) { return lookupSpecial(specialV4, a) }

func lookupSpecial(table []special, a netip.Addr) (addrClass, string) {
	for _, s := range table {
		if s.prefix.Contains(a) {
			return s.class, s.name
		}
	}
	return classPublic, ""
}

// checkAddr refuses a special-use address; private ones pass when the
// host is listed in PrivateHosts.
func checkAddr(a netip.Addr, allowPrivate bool) error {
	class, name := classify(a)
	if class == classPublic || class == classPrivate && allowPrivate {
		return nil
	}
	return &Error{
		Kind:   KindForbidden,
		Reason: "the client_id host resolves to a special-use address",
		Err:    &addrError{addr: a, name: name},
	}
}

// addrError names the refused address, for the log only.
type addrError struct {
	addr netip.Addr
	name string
}

func (e *addrError) Error() string { return "address " + e.addr.String() + " is " + e.name }
