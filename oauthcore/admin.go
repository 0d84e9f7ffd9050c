package oauthcore

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Admin is the operator's view of the server: listings, revocation, key
// rotation and test tokens. It is served by the Caddy admin API only
// (its own listener, origin checks), never on a public site. Nothing it
// returns holds a secret or a hash of one.
type Admin struct {
	s *Server
}

// Admin returns the server's admin operations.
func (s *Server) Admin() *Admin { return &Admin{s: s} }

// ClientView is a client as the admin API shows it.
type ClientView struct {
	ID           string    `json:"client_id"`
	Name         string    `json:"client_name,omitempty"`
	RedirectURIs []string  `json:"redirect_uris"`
	AuthMethod   string    `json:"token_endpoint_auth_method"`
	GrantTypes   []string  `json:"grant_types,omitempty"`
	Scope        string    `json:"scope,omitempty"`
	IssuedAt     time.Time `json:"issued_at"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	Version      int       `json:"version"`
}

// GrantView is a grant (one login's refresh-token family) as shown.
type GrantView struct {
	ID        string    `json:"grant_id"`
	ClientID  string    `json:"client_id"`
	UserID    string    `json:"user_id"`
	Login     string    `json:"user_login"`
	Scope     string    `json:"scope"`
	Resource  string    `json:"resource,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
}

func clientView(c *Client) ClientView {
	return ClientView{ID: c.ID, Name: c.Metadata.ClientName, RedirectURIs: c.Metadata.RedirectURIs,
		AuthMethod: c.Metadata.TokenEndpointAuthMethod, GrantTypes: c.Metadata.GrantTypes, Scope: c.Metadata.Scope,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Version: c.Version}
}

func grantView(g *Grant) GrantView {
	return GrantView{ID: g.ID, ClientID: g.ClientID, UserID: g.User.ID, Login: g.User.Login, Scope: g.Scope,
		Resource: g.Resource, CreatedAt: g.CreatedAt, LastUsed: g.LastUsed, ExpiresAt: g.ExpiresAt}
}

// Filter selects what a listing returns; empty fields match everything.
type Filter struct {
	// Name matches clients whose name contains it (case-insensitive).
	Name string
	// RedirectHost matches clients with a redirect URI on that host.
	RedirectHost string
	// User matches grants of a GitHub login (case-insensitive) or id.
	User string
	// Client matches grants of a client id.
	Client string
}

func (f Filter) client(c *Client) bool {
	if f.Name != "" && !strings.Contains(strings.ToLower(c.Metadata.ClientName), strings.ToLower(f.Name)) {
		return false
	}
	return f.RedirectHost == "" || slices.ContainsFunc(c.Metadata.RedirectURIs, func(ru string) bool {
		u, err := url.Parse(ru)
		return err == nil && strings.EqualFold(u.Hostname(), f.RedirectHost)
	})
}

func (f Filter) grant(g *Grant) bool {
	return (f.Client == "" || g.ClientID == f.Client) &&
		(f.User == "" || g.User.ID == f.User || strings.EqualFold(g.User.Login, f.User))
}

// pageRounds bounds the store pages one filtered listing reads: a filter
// matching little returns a short page and a cursor rather than reading
// the whole store in one request.
const pageRounds = 20

// lister is a store's paged listing (AdminStore).
type lister[T any] func(ctx context.Context, cursor string, limit int) ([]T, string, error)

// filtered pages through list from cursor, keeping the views keep
// accepts, until limit are kept or pageRounds store pages were read.
func filtered[T, V any](ctx context.Context, list lister[T], cursor string, limit int, keep func(T) (V, bool)) ([]V, string, error) {
	out := []V{}
	for round := 0; round < pageRounds; round++ {
		page, next, err := list(ctx, cursor, limit-len(out))
		if err != nil {
			return nil, "", err
		}
		for _, rec := range page {
			if v, ok := keep(rec); ok {
				out = append(out, v)
			}
		}
		if cursor = next; cursor == "" || len(out) >= limit {
			break
		}
	}
	return out, cursor, nil
}

// each calls fn with every record of list, all pages.
func each[T any](ctx context.Context, list lister[T], fn func(T)) error {
	for cursor := ""; ; {
		page, next, err := list(ctx, cursor, 500)
		if err != nil {
			return err
		}
		for _, rec := range page {
			fn(rec)
		}
		if cursor = next; cursor == "" {
			return nil
		}
	}
}

// Clients lists clients matching f, up to limit, from cursor.
func (a *Admin) Clients(ctx context.Context, f Filter, cursor string, limit int) ([]ClientView, string, error) {
	return filtered(ctx, a.s.store.ListClients, cursor, limit, func(c *Client) (ClientView, bool) { return clientView(c), f.client(c) })
}

// Grants lists grants matching f, up to limit, from cursor.
func (a *Admin) Grants(ctx context.Context, f Filter, cursor string, limit int) ([]GrantView, string, error) {
	return filtered(ctx, a.s.store.ListGrants, cursor, limit, func(g *Grant) (GrantView, bool) { return grantView(g), f.grant(g) })
}

// Client returns one client (ErrNotFound if there is none).
func (a *Admin) Client(ctx context.Context, id string) (ClientView, error) {
	c, err := a.s.store.GetClient(ctx, id)
	if err != nil {
		return ClientView{}, err
	}
	return clientView(c), nil
}

// DeleteClient deletes a client and revokes all its grants; every
// instance's gate drops their tokens at the store's announcement, and
// the users' GitHub tokens held for those grants are revoked at GitHub
// (best effort; the grants are found by listing, which an operator's
// command may afford).
func (a *Admin) DeleteClient(ctx context.Context, id string) error {
	var grants []*Grant
	if err := each(ctx, a.s.store.ListGrants, func(g *Grant) {
		if g.ClientID == id {
			grants = append(grants, g)
		}
	}); err != nil {
		return err
	}
	if err := a.s.store.DeleteClient(ctx, id); err != nil {
		return err
	}
	for _, g := range grants {
		a.s.check.revokeAtGitHub(ctx, g)
	}
	a.s.env.log.InfoContext(ctx, "client deleted", "step", "admin", "client_id", id)
	a.s.env.metrics.Revocation("client")
	return nil
}

// Revoke revokes the grants f selects (a user's or a client's) and
// returns how many; the gates of every instance drop their tokens.
func (a *Admin) Revoke(ctx context.Context, f Filter, kind string) (int, error) {
	var ids []string
	err := each(ctx, a.s.store.ListGrants, func(g *Grant) {
		if f.grant(g) {
			ids = append(ids, g.ID)
		}
	})
	if err != nil {
		return 0, err
	}
	for n, id := range ids {
		if err := a.RevokeGrant(ctx, id, kind); err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
	}
	return len(ids), nil
}

// RevokeGrant revokes one grant (ErrNotFound if it is not live).
func (a *Admin) RevokeGrant(ctx context.Context, id, kind string) error {
	g, err := a.s.store.GetGrant(ctx, id)
	if err != nil {
		return err
	}
	if err := a.s.store.RevokeGrant(ctx, id); err != nil {
		return err
	}
	a.s.check.revokeAtGitHub(ctx, g)
	a.s.env.log.InfoContext(ctx, "grant revoked", "step", "admin", "client_id", g.ClientID, "github_id", g.User.ID)
	a.s.env.metrics.Revocation(kind)
	return nil
}

// Stats are counts by kind.
type Stats struct {
	Clients int `json:"clients"`
	Grants  int `json:"grants"`
	Users   int `json:"users"`
	// CachedTokens is how many verified tokens this instance's gate cache holds.
	CachedTokens int `json:"cached_tokens"`
}

// Stats counts live clients, grants and the users who hold them.
func (a *Admin) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	if err := each(ctx, a.s.store.ListClients, func(*Client) { st.Clients++ }); err != nil {
		return st, err
	}
	users := map[string]bool{}
	if err := each(ctx, a.s.store.ListGrants, func(g *Grant) { st.Grants++; users[g.User.ID] = true }); err != nil {
		return st, err
	}
	st.Users = len(users)
	_, _, st.CachedTokens = a.s.verifier.CacheStats()
	return st, nil
}

// ErrNoKeys: the server signs with jwt_secret, which has no key to rotate.
var ErrNoKeys = errors.New("access tokens are signed with jwt_secret (HS256): there is no key pair to rotate; change jwt_secret instead")

// RotateKey adds a new signing key now. It is published at once and
// signs after keyActivationDelay, so every instance's gate knows it
// before the first token it signs arrives; older keys stay published
// until their tokens expire.
func (a *Admin) RotateKey(ctx context.Context) (kid string, activates time.Time, err error) {
	k := a.s.tokens.keys
	if k == nil {
		return "", time.Time{}, ErrNoKeys
	}
	return k.rotateNow(ctx)
}

// TokenRequest asks for a test access token.
type TokenRequest struct {
	User     string        // GitHub login or numeric id
	Resource string        // the MCP server URL (RFC 8707)
	Scope    string        // default: the default scope
	TTL      time.Duration // default and most: access_token_lifetime
}

// AdminClientID is the client_id of tokens the admin API mints.
const AdminClientID = "mcp-oauth-admin"

// MintToken signs a short-lived access token for an allowed user, as the
// `caddy mcp-oauth token` command asks, for trying a gated server with
// curl. It belongs to no grant: revoke it by its jti, or let it expire.
func (a *Admin) MintToken(ctx context.Context, req TokenRequest) (string, *Claims, error) {
	cfg := &a.s.env.cfg
	if req.TTL <= 0 {
		req.TTL = min(time.Hour, cfg.AccessTokenLifetime)
	}
	if req.TTL > cfg.AccessTokenLifetime {
		return "", nil, invalidRequest("ttl " + req.TTL.String() + " is longer than access_token_lifetime (" +
			cfg.AccessTokenLifetime.String() + ")")
	}
	res, err := cfg.resolveResource([]string{req.Resource})
	if err == nil && res == "" {
		err = errors.New("resource (the MCP server's URL) is required")
	}
	if err != nil {
		return "", nil, NewError(400, CodeInvalidTarget, err.Error())
	}
	scope := req.Scope
	if scope == "" {
		scope = cfg.DefaultScope
	}
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(cfg.Scopes, sc) {
			return "", nil, NewError(400, CodeInvalidScope, "scope "+sc+" is not one of the server's scopes")
		}
	}
	u, err := a.allowedUser(ctx, req.User)
	if err != nil {
		return "", nil, err
	}
	jti, err := a.s.env.secret("")
	if err != nil {
		return "", nil, err
	}
	now := a.s.env.now().Truncate(time.Second)
	c := &Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: cfg.Issuer, Subject: u.ID, Audience: jwt.ClaimStrings{res},
		ExpiresAt: jwt.NewNumericDate(now.Add(req.TTL)), IssuedAt: jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now), ID: jti[:22]}, ClientID: AdminClientID, Scope: scope, Username: u.Login}
	raw, err := a.s.tokens.Sign(c)
	if err != nil {
		return "", nil, err
	}
	a.s.env.log.InfoContext(ctx, "test token minted through the admin API", "step", "admin", "github_id", u.ID,
		"github_login", u.Login, "resource", res, "scope", scope, "jti", c.ID, "expires_in", req.TTL.String())
	return raw, c, nil
}
