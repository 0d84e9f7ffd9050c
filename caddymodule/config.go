package caddymodule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// config resolves placeholders in every value and builds the oauthcore
// configuration with its defaults applied.
func (a *App) config() (oauthcore.Config, error) {
	repl := caddy.NewReplacer()
	s := func(v string) string { return strings.TrimSpace(repl.ReplaceKnown(v, "")) }
	cfg := oauthcore.Config{
		Issuer:         s(a.Issuer),
		JWTSecret:      []byte(s(a.JWTSecret)),
		Scopes:         splitList(repl, a.Scopes),
		DefaultScope:   s(a.DefaultScope),
		Resources:      splitList(repl, a.Resources),
		ResourceSpace:  &oauthcore.ResourceSpace{},
		PrivateSchemes: splitList(repl, a.RedirectSchemes),
		GitHub: oauthcore.GitHubConfig{
			ClientID:     s(a.GitHub.ClientID),
			ClientSecret: s(a.GitHub.ClientSecret),
			WebURL:       s(a.GitHub.WebURL),
			APIURL:       s(a.GitHub.APIURL),
			AllowedUsers: splitList(repl, a.GitHub.AllowedUsers),
			AllowedOrgs:  splitList(repl, a.GitHub.AllowedOrgs),
			AllowedTeams: splitList(repl, a.GitHub.AllowedTeams),
			Scopes:       splitList(repl, a.GitHub.Scopes),
		},
	}
	cfg.Name = s(a.Name)
	for scope, text := range a.ScopeDescriptions {
		if cfg.ScopeDescriptions == nil {
			cfg.ScopeDescriptions = map[string]string{}
		}
		cfg.ScopeDescriptions[s(scope)] = s(text)
	}
	if m := a.ClientIDMetadata; m != nil {
		cfg.ClientIDMetadata = oauthcore.ClientIDMetadataConfig{Disabled: m.Off,
			AllowedHosts: splitList(repl, m.AllowedHosts), TrustedHosts: splitList(repl, m.TrustedHosts),
			PrivateHosts: splitList(repl, m.PrivateHosts)}
	}
	if len(cfg.JWTSecret) == 0 {
		cfg.JWTSecret = nil
	}
	durations := []durationOption{
		{"key_rotation", a.KeyRotation, &cfg.KeyRotation},
		{"access_token_lifetime", a.AccessTokenLifetime, &cfg.AccessTokenLifetime},
		{"refresh_token_lifetime", a.RefreshTokenLifetime, &cfg.RefreshTokenLifetime},
		{"client_lifetime", a.ClientLifetime, &cfg.ClientLifetime},
		{"code_lifetime", a.CodeLifetime, &cfg.CodeLifetime},
		{"refresh_grace", a.RefreshGrace, &cfg.RefreshGrace},
		{"consent_lifetime", a.ConsentLifetime, &cfg.ConsentLifetime},
		{"github timeout", a.GitHub.Timeout, &cfg.GitHub.Timeout},
		{"github membership_ttl", a.GitHub.MembershipTTL, &cfg.GitHub.MembershipTTL},
	}
	if m := a.ClientIDMetadata; m != nil {
		durations = append(durations,
			durationOption{"client_id_metadata cache_max", m.CacheMax, &cfg.ClientIDMetadata.CacheMax},
			durationOption{"client_id_metadata timeout", m.Timeout, &cfg.ClientIDMetadata.Timeout})
	}
	for _, d := range durations {
		v, err := parseDuration(s(d.raw))
		if err != nil {
			return cfg, fmt.Errorf("mcp_oauth: %s: %v", d.name, err)
		}
		*d.dst = v
	}
	if v := s(a.RegistrationLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 || n == 0 {
			return cfg, fmt.Errorf("mcp_oauth: registration_limit %q must be a positive number of registrations per minute, or -1 for none", v)
		}
		cfg.RegistrationLimit = n
	}
	limits, err := a.Limits.limits(repl)
	if err != nil {
		return cfg, err
	}
	cfg.Limits = limits
	// mcp-oauth-dynamicclient's CLIENT_LIFETIME=0 means "never expires"; oauthcore
	// spells that as a negative lifetime, zero being "use the default".
	if s(a.ClientLifetime) != "" && cfg.ClientLifetime == 0 {
		cfg.ClientLifetime = -1
	}
	cfg.Defaults()
	return cfg, nil
}

// durationOption is one duration setting: its name for errors, the raw
// value and where it goes.
type durationOption struct {
	name string
	raw  string
	dst  *time.Duration
}

// parseDuration accepts Caddy durations ("90d", "24h") and, like the
// environment variables of mcp-oauth-dynamicclient, a bare number of seconds.
func parseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q must not be negative", v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := caddy.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. 3600, 90m, 24h or 30d)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q must not be negative", v)
	}
	return d, nil
}
