package caddyproc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// FreePorts picks n distinct ports that are free on 127.0.0.1 now. They
// lie below Linux's ephemeral range (32768 and up), so the outgoing
// connections of the caller and of parallel tests cannot take them
// meanwhile; a port another process binds between the probe and Caddy's
// bind is what Start's retry is for.
func FreePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for i := 0; i < 100*n && len(out) < n; i++ {
		port := 20000 + rand.IntN(12000)
		if seen[port] {
			continue
		}
		seen[port] = true
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		out = append(out, port)
	}
	if len(out) < n {
		return nil, errors.New("no free loopback ports")
	}
	return out, nil
}
