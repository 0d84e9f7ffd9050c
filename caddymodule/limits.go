package caddymodule

import (
	"fmt"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// LimitsConfig bounds requests per client address and per client, per
// minute: a positive number, or -1 for no limit. Addresses are Caddy's
// client_ip (trusted_proxies applies), counted per IPv4 address and per
// IPv6 /64; on Redis every instance counts in the same window. Past a
// limit the answer is 429 with Retry-After. The defaults never throttle
// normal use (an office of fifty signing in at once behind one address,
// a client refreshing every minute).
type LimitsConfig struct {
	// AuthorizePerAddress bounds /authorize per address. Default: 300.
	AuthorizePerAddress string `json:"authorize_per_address,omitempty"`
	// CallbackPerAddress bounds /callback per address. Default: 300.
	CallbackPerAddress string `json:"callback_per_address,omitempty"`
	// TokenPerAddress bounds /token per address. Default: 1200.
	TokenPerAddress string `json:"token_per_address,omitempty"`
	// TokenPerClient bounds /token per client_id, from any address.
	// Default: 6000 (a hosted client's users share its client_id).
	TokenPerClient string `json:"token_per_client,omitempty"`
	// AuthFailuresPerClient bounds wrong client secrets per client_id at
	// /token, /revoke and /introspect; past it even the right secret
	// waits for the minute to end. Default: 20.
	AuthFailuresPerClient string `json:"auth_failures_per_client,omitempty"`
}

// limitOptions names each field for the Caddyfile and for errors.
func (l *LimitsConfig) options() []struct {
	name string
	raw  *string
} {
	return []struct {
		name string
		raw  *string
	}{
		{"authorize_per_address", &l.AuthorizePerAddress},
		{"callback_per_address", &l.CallbackPerAddress},
		{"token_per_address", &l.TokenPerAddress},
		{"token_per_client", &l.TokenPerClient},
		{"auth_failures_per_client", &l.AuthFailuresPerClient},
	}
}

// limits resolves placeholders and checks every value.
func (l *LimitsConfig) limits(repl *caddy.Replacer) (oauthcore.Limits, error) {
	var out oauthcore.Limits
	if l == nil {
		return out, nil
	}
	dst := []*int{&out.AuthorizePerAddress, &out.CallbackPerAddress, &out.TokenPerAddress,
		&out.TokenPerClient, &out.AuthFailuresPerClient}
	for i, o := range l.options() {
		v := repl.ReplaceKnown(*o.raw, "")
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 || n == 0 {
			return out, fmt.Errorf("mcp_oauth: limits %s %q must be a positive number of requests per minute, or -1 for none", o.name, v)
		}
		*dst[i] = n
	}
	return out, nil
}

func (l *LimitsConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(1) {
		opt := d.Val()
		var dst *string
		for _, o := range l.options() {
			if o.name == opt {
				dst = o.raw
			}
		}
		if dst == nil {
			return d.Errf("unrecognized limits option %q (valid: authorize_per_address, callback_per_address, token_per_address, token_per_client, auth_failures_per_client)", opt)
		}
		if err := oneArg(d, dst); err != nil {
			return err
		}
	}
	return nil
}
