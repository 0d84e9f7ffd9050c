package oauthcore

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is the server's policy. The Caddy app fills it from its own
// documented fields; Defaults applies the values a zero field means.
type Config struct {
	// Issuer is the absolute https URL of this server (http only on
	// loopback), with no path, query or fragment.
	Issuer string

	// JWTSecret selects HS256 access tokens signed with it (at least 32
	// bytes). Empty: ES256 with keys kept in the store and rotated.
	JWTSecret []byte
	// KeyRotation is how often a new ES256 key takes over.
	KeyRotation time.Duration

	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	// ClientLifetime is how long a registration lives; negative means
	// forever (the Caddy app maps mcp-oauth-dynamicclient's 0 to that).
	ClientLifetime time.Duration
	CodeLifetime   time.Duration
	// RefreshGrace is how long a rotated refresh token may be presented
	// again (lost response, parallel refresh) without being treated as
	// reuse.
	RefreshGrace time.Duration
	FlowLifetime time.Duration
	// ConsentLifetime is how long a browser's approval of a client lasts.
	ConsentLifetime time.Duration
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	Leeway time.Duration

	// Scopes are the scopes this server grants; a request's scope must be a
	// subset. DefaultScope is granted when a request names none.
	Scopes       []string
	DefaultScope string
	// ScopeDescriptions say in words, on the consent page, what each scope
	// allows; "mcp" has a default (defaultMCPScopeText).
	ScopeDescriptions map[string]string
	// Name is what the consent page calls this server, the thing the user
	// grants access to; empty: the issuer's host.
	Name string
	// Resources, when set, are the only RFC 8707 resources tokens may be
	// issued for. Empty: any absolute https (or loopback http) URL on a
	// host of ResourceSpace, or on the issuer's host.
	Resources []string
	// ResourceSpace, when Resources is empty, bounds the resources tokens
	// may be issued for to the hosts it holds (and the issuer's); nil, or
	// never Set, admits any host. The Caddy module sets it from the sites
	// its gates protect.
	ResourceSpace *ResourceSpace

	// PrivateSchemes, when set, restricts private-use redirect-URI schemes
	// (RFC 8252 §7.1, reverse-DNS ones too) to those listed. Empty: any
	// syntactically valid scheme but the denied ones.
	PrivateSchemes []string
	// MaxRedirectURIs and MaxRegistrationBytes bound registrations.
	MaxRedirectURIs      int
	MaxRegistrationBytes int64
	// RegistrationLimit is how many registrations one client address may
	// make per minute (per instance); negative: no limit. Hosted MCP
	// clients register from shared egress addresses, so it is generous.
	RegistrationLimit int

	// Limits bound requests per client address and per client (429 with
	// Retry-After); zero fields take the defaults.
	Limits Limits

	// ClientIDMetadata configures clients that register by URL (Client
	// ID Metadata Documents). On unless disabled.
	ClientIDMetadata ClientIDMetadataConfig

	GitHub GitHubConfig
}

// ClientIDMetadataConfig is the policy for Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
// https URL names a public client whose metadata this server fetches
// from that URL (see internal/cimd). The zero value is the default: on,
// documents from any public host, none trusted.
type ClientIDMetadataConfig struct {
	// Disabled turns the feature off: URL client_ids are then unknown
	// clients, and the metadata does not advertise it.
	Disabled bool
	// AllowedHosts, when set, are the only hosts a client_id URL may name
	// (host names, IP literals, "*.example.com" for subdomains only).
	AllowedHosts []string
	// TrustedHosts are hosts whose clients the consent page shows as
	// verified, in the AllowedHosts syntax. Default: none.
	TrustedHosts []string
	// PrivateHosts are host or host:port entries whose documents may be
	// fetched from private and loopback addresses (tests, intranets).
	PrivateHosts []string
	// CacheMax is the longest a document is used before it is fetched
	// again (0: 24h, at least 1m); Timeout bounds one fetch (0: 5s).
	CacheMax time.Duration
	Timeout  time.Duration
}

// Enabled reports whether URL client_ids are resolved by their documents.
func (m *ClientIDMetadataConfig) Enabled() bool { return !m.Disabled }

// GitHubConfig configures the upstream identity provider.
type GitHubConfig struct {
	ClientID     string
	ClientSecret string
	// WebURL is GitHub's web origin (OAuth endpoints); APIURL is the REST
	// API base. GitHub Enterprise Server: https://HOST and https://HOST/api/v3.
	WebURL string
	APIURL string
	// AllowedUsers are logins (matched case-insensitively) or numeric ids;
	// "*" allows every GitHub user. A user is allowed when AllowedUsers,
	// AllowedOrgs or AllowedTeams admits them; all empty allows nobody
	// (fail closed).
	AllowedUsers []string
	// AllowedOrgs are org logins whose active members are allowed; each
	// is pinned to its numeric id when first resolved (at start-up).
	AllowedOrgs []string
	// AllowedTeams are "org/team-slug" entries whose active members (and
	// members of their child teams) are allowed; each is pinned to its
	// org and team ids at the first login of one of its members.
	AllowedTeams []string
	// Scopes are OAuth App scopes requested beyond read:user, user:email
	// and (with org or team lists) read:org, e.g. repo for an upstream
	// that acts on the user's repositories.
	Scopes []string
	// MembershipTTL is how long a membership check is trusted before the
	// gate asks GitHub again. Default 5m.
	MembershipTTL time.Duration
	Timeout       time.Duration
}

// checksMembership reports whether org or team lists are set.
func (g *GitHubConfig) checksMembership() bool { return len(g.AllowedOrgs)+len(g.AllowedTeams) > 0 }

// requestedScopes are the OAuth App scopes asked of GitHub: only what the
// policy needs (read:org for org and team lists) plus the configured ones.
func (g *GitHubConfig) requestedScopes() []string {
	out := []string{"read:user", "user:email"}
	if g.checksMembership() {
		out = append(out, "read:org")
	}
	for _, sc := range g.Scopes {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// githubName is an org login or team slug as GitHub allows them.
var githubName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,99})$`)

// githubScope is a GitHub OAuth scope (repo, read:org, admin:repo_hook).
var githubScope = regexp.MustCompile(`^[a-z_]+(?::[a-z_]+)?$`)

// validateMembership checks the org, team and scope lists.
func (g *GitHubConfig) validateMembership() error {
	for _, o := range g.AllowedOrgs {
		if !githubName.MatchString(o) {
			return fmt.Errorf("github allowed_orgs: %q is not an organization login (letters, digits and hyphens, e.g. acme)", o)
		}
	}
	for _, t := range g.AllowedTeams {
		org, slug, ok := strings.Cut(t, "/")
		if !ok || !githubName.MatchString(org) || !githubName.MatchString(slug) {
			return fmt.Errorf("github allowed_teams: %q must be org/team-slug, e.g. acme/platform (the slug, as in the team's URL)", t)
		}
	}
	for _, sc := range g.Scopes {
		if !githubScope.MatchString(sc) {
			return fmt.Errorf("github scopes: %q is not a GitHub OAuth scope (e.g. repo, read:org, gist)", sc)
		}
	}
	if g.MembershipTTL < time.Second || g.MembershipTTL > 24*time.Hour {
		return fmt.Errorf("github membership_ttl %s must be between 1s and 24h", g.MembershipTTL)
	}
	return nil
}

// Defaults fills zero fields: lifetimes as mcp-oauth-dynamicclient had
// them, and this project's defaults for everything else.
func (c *Config) Defaults() {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	c.Limits.defaults()
	setDur(&c.AccessTokenLifetime, 24*time.Hour)
	setDur(&c.RefreshTokenLifetime, 30*24*time.Hour)
	setDur(&c.ClientLifetime, 90*24*time.Hour)
	setDur(&c.CodeLifetime, time.Minute)
	setDur(&c.RefreshGrace, 30*time.Second)
	setDur(&c.FlowLifetime, 10*time.Minute)
	setDur(&c.ConsentLifetime, 30*24*time.Hour)
	setDur(&c.Leeway, 30*time.Second)
	setDur(&c.KeyRotation, 30*24*time.Hour)
	setDur(&c.GitHub.Timeout, 10*time.Second)
	setDur(&c.GitHub.MembershipTTL, 5*time.Minute)
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"mcp"}
	}
	if _, ok := c.ScopeDescriptions["mcp"]; !ok {
		descs := maps.Clone(c.ScopeDescriptions)
		if descs == nil {
			descs = map[string]string{}
		}
		descs["mcp"] = defaultMCPScopeText
		c.ScopeDescriptions = descs
	}
	if c.DefaultScope == "" {
		c.DefaultScope = strings.Join(c.Scopes, " ")
	}
	if c.MaxRedirectURIs == 0 {
		c.MaxRedirectURIs = 10
	}
	if c.MaxRegistrationBytes == 0 {
		c.MaxRegistrationBytes = 16 << 10
	}
	if c.RegistrationLimit == 0 {
		c.RegistrationLimit = 120
	}
	if c.GitHub.WebURL == "" {
		c.GitHub.WebURL = "https://github.com"
	}
	if c.GitHub.APIURL == "" {
		c.GitHub.APIURL = "https://api.github.com"
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
}

// defaultMCPScopeText is what the consent page says the mcp scope allows.
const defaultMCPScopeText = "use the MCP servers behind this server as you, with your GitHub identity"

// serverName is what the consent page calls this server.
func (c *Config) serverName() string {
	if c.Name != "" {
		return c.Name
	}
	if u, err := url.Parse(c.Issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return c.Issuer
}

// Validate reports the first configuration mistake, saying how to fix it.
func (c *Config) Validate() error {
	if err := CheckIssuer(c.Issuer); err != nil {
		return err
	}
	if len(c.JWTSecret) > 0 && len(c.JWTSecret) < 32 {
		return fmt.Errorf("jwt_secret is %d bytes; use at least 32 random bytes (e.g. `openssl rand -base64 48`), or remove it to use rotating ES256 keys", len(c.JWTSecret))
	}
	if c.GitHub.ClientID == "" || c.GitHub.ClientSecret == "" {
		return errors.New("github client_id and client_secret are required: create an OAuth app at GitHub (Settings > Developer settings) with callback URL " + c.Issuer + "/callback")
	}
	if err := c.GitHub.validateMembership(); err != nil {
		return err
	}
	for _, u := range []string{c.GitHub.WebURL, c.GitHub.APIURL} {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
			return fmt.Errorf("github base URL %q must be an absolute http(s) URL", u)
		}
	}
	if c.CodeLifetime > 10*time.Minute {
		return fmt.Errorf("code_lifetime %s is too long: authorization codes must live at most 10 minutes (OAuth 2.1 §4.1.2)", c.CodeLifetime)
	}
	if c.Leeway > time.Minute {
		return fmt.Errorf("leeway %s is too long: at most 1m", c.Leeway)
	}
	if c.AccessTokenLifetime < 0 || c.RefreshTokenLifetime < 0 || c.RefreshGrace < 0 {
		return errors.New("token lifetimes must be positive")
	}
	if !c.hasScopes(c.DefaultScope) {
		return fmt.Errorf("default_scope %q must be made of the configured scopes %q", c.DefaultScope, c.Scopes)
	}
	for _, r := range c.Resources {
		if err := checkResource(r); err != nil {
			return fmt.Errorf("resource %q: %v", r, err)
		}
	}
	return c.validateClientIDMetadata()
}

// CheckIssuer requires an absolute https URL with no path (http is allowed
// on loopback hosts for local development and tests).
func CheckIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return fmt.Errorf("issuer %q must be an absolute URL such as https://auth.example.com", issuer)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && IsLoopbackHost(u.Hostname())) {
		return fmt.Errorf("issuer %q must use https (http is allowed only on localhost, 127.0.0.1 or [::1])", issuer)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("issuer %q must be just scheme and host, with no path, query, fragment or user info", issuer)
	}
	return nil
}

// hasScopes reports whether every scope in s is configured.
func (c *Config) hasScopes(s string) bool {
	for _, want := range strings.Fields(s) {
		if !slices.Contains(c.Scopes, want) {
			return false
		}
	}
	return true
}
