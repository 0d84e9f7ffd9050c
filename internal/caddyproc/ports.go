package caddyproc

import (
	"io"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/portlease"
)

// LeasePorts leases n distinct ports that are free on 127.0.0.1 now, in
// 20000-31999: below Linux's ephemeral range (32768 and up), so outgoing
// connections cannot take them, and leased through package portlease, so
// no other test process of this repository hands them out until the lease
// is closed. Checking that a port is free is not enough on its own: Caddy
// binds with SO_REUSEPORT, so two Caddies that both found a port free
// would both bind it and split each other's connections.
func LeasePorts(n int) ([]int, io.Closer, error) {
	var ls leases
	var out []int
	for len(out) < n {
		port, l, err := portlease.Lease(20000, 32000, nil)
		if err != nil {
			_ = ls.Close()
			return nil, nil, err
		}
		ls = append(ls, l)
		out = append(out, port)
	}
	return out, ls, nil
}

type leases []io.Closer

func (ls leases) Close() error {
	for _, l := range ls {
		_ = l.Close()
	}
	return nil
}
