package oauthcore

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Limits bound how often one client address or one client may call the
// open endpoints, per minute; 0 means the default, negative no limit.
// Addresses are Caddy's client_ip (so trusted_proxies applies), counted
// per IPv4 address and per IPv6 /64. The defaults never throttle normal
// use: an office of fifty behind one address signing in at once, a
// client refreshing every minute, a hosted client (one client_id for all
// its users) with thousands of users.
type Limits struct {
	// AuthorizePerAddress bounds /authorize requests per address.
	// Default: 300.
	AuthorizePerAddress int
	// CallbackPerAddress bounds GitHub's redirects to /callback per
	// address (the user's browser). Default: 300.
	CallbackPerAddress int
	// TokenPerAddress bounds /token requests per address. Default: 1200.
	TokenPerAddress int
	// TokenPerClient bounds /token requests per client_id, whoever sends
	// them. Default: 6000 (a hosted client's users share its id).
	TokenPerClient int
	// AuthFailuresPerClient bounds failed client authentications (a wrong
	// secret) per client_id at /token, /revoke and /introspect; once
	// reached, the client's requests are refused before the secret is
	// checked until the minute is over, so a secret cannot be guessed.
	// Default: 20.
	AuthFailuresPerClient int
}

// Default limits, per minute.
const (
	defaultAuthorizePerAddress   = 300
	defaultCallbackPerAddress    = 300
	defaultTokenPerAddress       = 1200
	defaultTokenPerClient        = 6000
	defaultAuthFailuresPerClient = 20
)

func (l *Limits) defaults() {
	for _, d := range []struct {
		v   *int
		def int
	}{
		{&l.AuthorizePerAddress, defaultAuthorizePerAddress},
		{&l.CallbackPerAddress, defaultCallbackPerAddress},
		{&l.TokenPerAddress, defaultTokenPerAddress},
		{&l.TokenPerClient, defaultTokenPerClient},
		{&l.AuthFailuresPerClient, defaultAuthFailuresPerClient},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
}

// RateCounter is implemented by stores that several instances share
// (Redis), so that a limit holds across them: Hit counts one event for
// key in the fixed window of length window that key's first event opened
// and returns the events counted so far and the time left in the window;
// Count returns the same without counting. Keys are the server's own
// (a kind and a hash). Stores without it are counted in each process.
type RateCounter interface {
	Hit(ctx context.Context, key string, window time.Duration) (n int64, left time.Duration, err error)
	Count(ctx context.Context, key string) (n int64, left time.Duration, err error)
}

// rateWindow is every limit's window.
const rateWindow = time.Minute

// limiter applies Limits on a RateCounter. When the shared counter fails
// (Redis down), it counts in the process instead: a limit must not turn
// an outage of the store into refused sign-ins of its own, nor vanish.
type limiter struct {
	shared RateCounter // nil: local only
	local  *throttle
	now    func() time.Time
	log    func(ctx context.Context, msg string, err error)
}

func newLimiter(store any, now func() time.Time, log func(context.Context, string, error)) *limiter {
	l := &limiter{local: newThrottle(0, rateWindow), now: now, log: log}
	l.shared, _ = ability[RateCounter](store)
	return l
}

// hit counts one event and refuses it with 429 when it is past limit.
func (l *limiter) hit(ctx context.Context, key string, limit int, what string) error {
	if l == nil || limit < 0 {
		return nil
	}
	n, left := l.count(ctx, key, true)
	if n > int64(limit) {
		return tooManyRequests("too many "+what+"; retry later", left)
	}
	return nil
}

// over reports whether key already reached limit (counting nothing).
func (l *limiter) over(ctx context.Context, key string, limit int, what string) error {
	if l == nil || limit < 0 {
		return nil
	}
	n, left := l.count(ctx, key, false)
	if n >= int64(limit) {
		return tooManyRequests("too many "+what+"; retry later", left)
	}
	return nil
}

func (l *limiter) count(ctx context.Context, key string, add bool) (int64, time.Duration) {
	if l.shared != nil {
		var n int64
		var left time.Duration
		var err error
		if add {
			n, left, err = l.shared.Hit(ctx, key, rateWindow)
		} else {
			n, left, err = l.shared.Count(ctx, key)
		}
		if err == nil {
			return n, left
		}
		l.log(ctx, "rate counter unavailable; counting in this instance", err)
	}
	if add {
		return l.local.hit(key, l.now())
	}
	return l.local.peek(key, l.now())
}

// addressKey is the counting key of a client address: the address for
// IPv4, its /64 for IPv6 (one host owns a /64), the text itself if it
// does not parse.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if host, _, serr := net.SplitHostPort(ip); serr == nil {
			a, err = netip.ParseAddr(host)
		}
	}
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// limitAddress counts r against a per-address limit of kind.
func (e *env) limitAddress(r *http.Request, kind string, limit int, what string) error {
	return e.limits.hit(r.Context(), "addr:"+kind+":"+addressKey(clientIP(r)), limit, what)
}

// limitClient counts a request of clientID against a per-client limit.
func (e *env) limitClient(r *http.Request, kind, clientID string, limit int, what string) error {
	return e.limits.hit(r.Context(), clientKey(kind, clientID), limit, what)
}

// clientKey is the counting key of a client for a kind of limit; the id
// is hashed, since a client_id URL may be long.
func clientKey(kind, clientID string) string {
	return "client:" + kind + ":" + HashSecret(clientID)[:32]
}
