package oauthcore

import (
	"context"
	"net"
	"net/http"
)

type clientIPKey struct{}

// WithClientIP records the client's address as the embedding server
// resolved it (Caddy's client_ip, which honours trusted_proxies), so
// per-client limits never trust a raw X-Forwarded-For (CA-03).
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// clientIP is the address WithClientIP recorded, else the peer's.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
