package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the mcp_oauth app: one OAuth 2.1 authorization server per Caddy
// config, shared by every site that serves its endpoints
// (mcp_oauth_server) or checks its tokens.
//
// Every string value may use runtime placeholders such as
// {env.GITHUB_CLIENT_SECRET} or {file./run/secrets/x}; they are resolved
// when the config is loaded, so secrets never need to appear in the JSON
// config (and Caddy's autosave) in plain text. Durations accept Go/Caddy
// duration syntax ("24h", "90d") or, like mcp-oauth-dynamicclient's environment
// variables, a bare number of seconds.
type App struct {
	// Issuer is the public URL of the authorization server, e.g.
	// https://auth.example.com: https, no path. http is allowed only on
	// localhost, 127.0.0.1 and [::1]. Required.
	Issuer string `json:"issuer,omitempty"`

	// JWTSecret, when set, makes access tokens HS256 JWTs signed with it,
	// as mcp-oauth-dynamicclient's GATEWAY_JWT_SECRET did; it must be at least 32
	// bytes. When empty (recommended), an ES256 key pair is generated,
	// kept in the storage, published at /jwks and rotated.
	JWTSecret string `json:"jwt_secret,omitempty"`

	// KeyRotation is how often a new ES256 signing key takes over; older
	// keys stay published until their tokens expire. Default: 30d.
	KeyRotation string `json:"key_rotation,omitempty"`

	// AccessTokenLifetime is the lifetime of access tokens. Default: 24h
	// (mcp-oauth-dynamicclient's ACCESS_TOKEN_LIFETIME of 86400).
	AccessTokenLifetime string `json:"access_token_lifetime,omitempty"`

	// RefreshTokenLifetime is how long a refresh token family lives
	// without being used; each refresh extends it. Default: 30d.
	RefreshTokenLifetime string `json:"refresh_token_lifetime,omitempty"`

	// ClientLifetime is how long a client registration lives; 0 means
	// forever (mcp-oauth-dynamicclient's CLIENT_LIFETIME). A client with a live grant
	// never expires under it. Default: 90d.
	ClientLifetime string `json:"client_lifetime,omitempty"`

	// CodeLifetime is the lifetime of authorization codes, at most 10m.
	// Default: 1m.
	CodeLifetime string `json:"code_lifetime,omitempty"`

	// RefreshGrace is how long a just-rotated refresh token may be
	// presented again (a lost response, parallel refreshes) and yield the
	// same successor instead of revoking the grant. Default: 30s.
	RefreshGrace string `json:"refresh_grace,omitempty"`

	// ConsentLifetime is how long a browser's approval of a client is
	// remembered. Default: 30d.
	ConsentLifetime string `json:"consent_lifetime,omitempty"`

	// Scopes are the scopes clients may request. Default: ["mcp"].
	Scopes []string `json:"scopes,omitempty"`

	// DefaultScope is granted when a client asks for no scope. Default:
	// all of Scopes.
	DefaultScope string `json:"default_scope,omitempty"`

	// ScopeDescriptions say in words, on the consent page, what each scope
	// allows. Default: a text for mcp ("use the MCP servers behind this
	// server as you, with your GitHub identity").
	ScopeDescriptions map[string]string `json:"scope_descriptions,omitempty"`

	// Name is what the consent page calls this server, the thing users
	// grant access to. Default: the issuer's host.
	Name string `json:"name,omitempty"`

	// Resources, when set, are the only RFC 8707 resource indicators
	// (MCP server URLs) tokens may be issued for. Default: any https URL.
	Resources []string `json:"resources,omitempty"`

	// RegistrationLimit is how many client registrations one client
	// address (Caddy's client_ip, so trusted_proxies applies) may make per
	// minute on each instance; beyond it /register answers 429. -1: no
	// limit. Default: 120 (hosted MCP clients register from shared
	// addresses).
	RegistrationLimit string `json:"registration_limit,omitempty"`

	// RedirectSchemes, when set, is the allow-list of private-use URI
	// schemes (RFC 8252 §7.1) that redirect URIs may use, reverse-DNS ones
	// included; https and loopback http are always accepted. Default:
	// unset, which accepts any syntactically valid private-use scheme
	// (vscode, claude, cursor, com.example.app ...) except the dangerous
	// ones (javascript, data, file, vbscript, blob, about, ws, wss, ftp ...),
	// which are refused even when listed.
	RedirectSchemes []string `json:"redirect_schemes,omitempty"`

	// Limits bound requests per client address and per client (429 with
	// Retry-After past them). Default: limits that never throttle normal
	// use; see LimitsConfig.
	Limits *LimitsConfig `json:"limits,omitempty"`

	// ClientIDMetadata configures clients whose client_id is the https
	// URL of their Client ID Metadata Document, which MCP clients prefer
	// to registering. On by default, for documents on any public host.
	ClientIDMetadata *ClientIDMetadataConfig `json:"client_id_metadata,omitempty"`

	// GitHub configures the upstream identity provider.
	GitHub GitHubConfig `json:"github"`

	// Storage is the store module, from the mcp_oauth.storage namespace.
	// Default: bolt, one file in Caddy's data directory.
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=mcp_oauth.storage inline_key=module"`

	ctx     caddy.Context
	server  *oauthcore.Server
	storage StoreProvider
	cfg     oauthcore.Config
	logger  *zap.Logger
	cancel  context.CancelFunc
}

// GitHubConfig configures login through GitHub or GitHub Enterprise Server.
type GitHubConfig struct {
	// ClientID of the GitHub OAuth app. Required.
	ClientID string `json:"client_id,omitempty"`
	// ClientSecret of the GitHub OAuth app. Required; use a placeholder
	// such as {env.GITHUB_CLIENT_SECRET}.
	ClientSecret string `json:"client_secret,omitempty"`
	// AllowedUsers lists who may log in: GitHub logins (case-insensitive)
	// or numeric user ids, separated by commas or spaces, or "*" for every
	// GitHub user. A user is let in when AllowedUsers, AllowedOrgs or
	// AllowedTeams admits them; all three empty lets nobody in.
	AllowedUsers []string `json:"allowed_users,omitempty"`
	// AllowedOrgs lets in the active members of these GitHub
	// organizations (logins, e.g. acme). Each is resolved to its numeric
	// id at start-up and compared by id, so a renamed org keeps its
	// members and someone who takes the old name gets nobody in. Setting
	// it (or AllowedTeams) makes the login ask GitHub for read:org; with a
	// GitHub App, grant it the "Members: read" organization permission.
	AllowedOrgs []string `json:"allowed_orgs,omitempty"`
	// AllowedTeams lets in the active members of these teams, written
	// org/team-slug (e.g. acme/platform), members of their child teams
	// included. Each team is pinned to its ids at the first login of one
	// of its members.
	AllowedTeams []string `json:"allowed_teams,omitempty"`
	// Scopes are GitHub OAuth App scopes requested beyond read:user,
	// user:email and (with org or team lists) read:org, for upstreams
	// that receive the user's GitHub token (mcp_oauth_verify github_token),
	// e.g. repo. A grant whose token lacks one is refused by such gates
	// until the user signs in again. GitHub Apps ignore scopes: grant the
	// app the permissions instead.
	Scopes []string `json:"scopes,omitempty"`
	// MembershipTTL is how long a confirmation of a user's access (the
	// allow-lists and org and team memberships) is trusted at the gate
	// before it asks again: someone removed from an org or a list is
	// refused within this time, even with a live access token. Every
	// refresh checks again too. Default: 5m; between 1s and 24h.
	MembershipTTL string `json:"membership_ttl,omitempty"`
	// WebURL is GitHub's web origin. Default: https://github.com; for
	// GitHub Enterprise Server https://HOSTNAME.
	WebURL string `json:"web_url,omitempty"`
	// APIURL is GitHub's REST API base. Default: https://api.github.com;
	// for GitHub Enterprise Server https://HOSTNAME/api/v3.
	APIURL string `json:"api_url,omitempty"`
	// Timeout bounds each call to GitHub. Default: 10s.
	Timeout string `json:"timeout,omitempty"`
}

// ClientIDMetadataConfig is the policy for Client ID Metadata Documents:
// a client_id that is an https URL names a public client, whose metadata
// the server fetches from that URL (no redirects, at most 5 KiB, never
// from a private or special-use address unless listed in PrivateHosts).
type ClientIDMetadataConfig struct {
	// Off disables the feature: URL client_ids are then unknown clients,
	// and the server metadata does not advertise
	// client_id_metadata_document_supported.
	Off bool `json:"off,omitempty"`
	// AllowedHosts, when set, are the only hosts a client_id URL may name:
	// host names, IP literals, or *.example.com for the subdomains (not
	// the apex). Default: any host.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// TrustedHosts are hosts, in the AllowedHosts syntax, whose clients
	// the consent page shows as verified. Default: none.
	TrustedHosts []string `json:"trusted_hosts,omitempty"`
	// PrivateHosts are host or host:port entries, matched on the
	// client_id URL as written, whose documents may be fetched from
	// private and loopback addresses (tests, intranets). AllowedHosts
	// still applies.
	PrivateHosts []string `json:"private_hosts,omitempty"`
	// CacheMax is the longest a document is used before it is fetched
	// again, whatever its Cache-Control says; at least 1m. Default: 24h.
	CacheMax string `json:"cache_max,omitempty"`
	// Timeout bounds one fetch of a document. Default: 5s.
	Timeout string `json:"timeout,omitempty"`
}

// StoreProvider is what a storage module gives the app.
type StoreProvider interface {
	Store() oauthcore.Store
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "mcp_oauth", New: func() caddy.Module { return new(App) }}
}

// Provision resolves placeholders, opens the storage and builds the server.
func (a *App) Provision(ctx caddy.Context) (err error) {
	a.ctx, a.logger = ctx, ctx.Logger()
	defer func() { a.logStartFailure(err) }()
	cfg, err := a.config()
	if err != nil {
		return err
	}
	a.cfg = cfg
	if err := a.cfg.Validate(); err != nil {
		return fmt.Errorf("mcp_oauth: %w", err)
	}
	a.warnNobodyAllowed()
	if a.StorageRaw == nil {
		a.StorageRaw = json.RawMessage(`{"module":"bolt"}`)
	}
	mod, err := ctx.LoadModule(a, "StorageRaw")
	if err != nil {
		return fmt.Errorf("mcp_oauth: loading storage: %w", err)
	}
	a.storage = mod.(StoreProvider)
	log := slog.New(zapslog.NewHandler(a.logger.Core(), zapslog.WithName(a.logger.Name())))
	store, opts, err := instrument(ctx, a.storage, oauthcore.Options{Logger: log})
	if err != nil {
		return err
	}
	a.server, err = oauthcore.NewServer(cfg, store, opts)
	if err != nil {
		return fmt.Errorf("mcp_oauth: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := a.server.Sync(sctx); err != nil {
		return fmt.Errorf("mcp_oauth: loading signing keys from storage: %w", err)
	}
	return nil
}

// Validate checks the resolved configuration.
func (a *App) Validate() error {
	if err := a.cfg.Validate(); err != nil {
		return fmt.Errorf("mcp_oauth: %w", err)
	}
	return nil
}

// Start learns the resource space from the sites (every app is
// provisioned by now) and begins the periodic key sync and rotation.
func (a *App) Start() error {
	a.learnResourceSpace()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	runningVerifier.Store(a.server.Verifier())
	go a.maintain(ctx)
	return nil
}

// Stop ends background work.
func (a *App) Stop() error {
	if a.cancel != nil {
		a.cancel()
	}
	runningVerifier.CompareAndSwap(a.server.Verifier(), nil)
	return nil
}

// maintain pins allow-listed logins to GitHub ids as soon as it can, and
// every minute syncs (and when due rotates) the signing keys.
func (a *App) maintain(ctx context.Context) {
	resolved := a.resolveLogins(ctx)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			if err := a.server.Sync(sctx); err != nil {
				a.logger.Error("signing key sync failed", zap.Error(err))
			}
			cancel()
			if !resolved {
				resolved = a.resolveLogins(ctx)
			}
		}
	}
}

func (a *App) resolveLogins(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.server.ResolveAllowedUsers(rctx); err != nil {
		a.logger.Warn("could not resolve every allowed GitHub login to its id yet; retrying every minute", zap.Error(err))
		return false
	}
	return true
}

// Cleanup releases the server's subscription to the storage.
func (a *App) Cleanup() error {
	if a.server != nil {
		a.server.Close()
	}
	return nil
}

// Server returns the provisioned authorization server.
func (a *App) Server() *oauthcore.Server { return a.server }

// splitList splits comma- or space-separated values (mcp-oauth-dynamicclient's
// ALLOWED_GITHUB_USERS format) after placeholders are resolved.
func splitList(repl *caddy.Replacer, values []string) []string {
	var out []string
	for _, v := range values {
		v = repl.ReplaceKnown(v, "")
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
	}
	return out
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
