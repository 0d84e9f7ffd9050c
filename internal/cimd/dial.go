package cimd

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// NameResolver resolves a host name to addresses; *net.Resolver is one.
// Tests inject one that answers IP literals, so no name leaves the
// machine.
type NameResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc dials one checked ip:port; (*net.Dialer).DialContext is one.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// guard is the transport's DialContext: it resolves the URL's host
// itself, refuses the connection when any address is special-use, and
// dials the checked addresses, never the name. A name that answers a
// public address to the check and a private one to the dial (DNS
// rebinding) therefore cannot reach the inside: there is no second
// resolution.
type guard struct {
	dns     NameResolver
	dial    DialFunc // nil: a net.Dialer that checks again at connect
	private []privateHost
}

func (g *guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, err
	}
	allowPrivate := privateAllowed(g.private, host, portStr)
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	// Refuse when any answer is special-use, not only the one dialled: a
	// name mixing public and private answers is a rebinding setup.
	for _, a := range addrs {
		if err := checkAddr(a, allowPrivate); err != nil {
			return nil, err
		}
	}
	dial := g.dial
	if dial == nil {
		dial = checkedDialer(allowPrivate).DialContext
	}
	var errs []error
	for _, a := range addrs {
		c, err := dial(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// resolve answers an IP literal itself and asks the resolver otherwise.
func (g *guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := g.dns.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses for " + host)
	}
	return addrs, err
}

// checkedDialer checks the address once more in the socket's Control
// hook, right before connect: belt and braces should the code above
// ever pass an address it did not check.
func checkedDialer(allowPrivate bool) *net.Dialer {
	return &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		return checkAddr(ap.Addr(), allowPrivate)
	}}
}
