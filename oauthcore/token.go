package oauthcore

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// tokenEndpoint is /token (OAuth 2.1 §3.2): the authorization_code grant
// here, the refresh_token grant in refresh.go.
type tokenEndpoint struct {
	*env
	auth   *clientAuthenticator
	codes  CodeStore
	grants GrantStore
	tokens *Tokens
	// check re-checks the user on refresh (policy, GitHub token).
	check *grantChecker
}

func (t *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodPost) {
		return
	}
	cors(w.Header())
	var p params
	var err error
	defer func() { t.metrics.TokenRequest(grantLabel(p.get("grant_type")), Outcome(err)) }()
	if err = t.limitAddress(r, "token", t.cfg.Limits.TokenPerAddress, "token requests from this address"); err != nil {
		t.fail(w, r, "token", "", err)
		return
	}
	p, err = parsePostForm(w, r)
	if err != nil {
		t.fail(w, r, "token", "", err)
		return
	}
	c, err := t.auth.authenticate(r, p)
	if err != nil {
		if p.get("grant_type") == grantRefresh {
			err = t.refreshWithoutClient(r, p, err)
		}
		t.fail(w, r, "token", p.get("client_id"), err)
		return
	}
	if err = t.limitClient(r, "token", c.ID, t.cfg.Limits.TokenPerClient, "token requests for this client"); err != nil {
		t.fail(w, r, "token", c.ID, err)
		return
	}
	var resp *tokenResponse
	switch gt := p.get("grant_type"); {
	case gt == "":
		err = invalidRequest("grant_type is required")
	case gt != grantCode && gt != grantRefresh:
		err = NewError(400, CodeUnsupportedGrantType, "grant_type must be authorization_code or refresh_token")
	case !slices.Contains(c.Metadata.GrantTypes, gt):
		err = NewError(400, CodeUnauthorizedClient, "this client did not register the "+gt+" grant")
	case gt == grantCode:
		resp, err = t.exchangeCode(r, p, c)
	default:
		resp, err = t.refresh(r, p, c)
	}
	if err != nil {
		t.fail(w, r, "token", c.ID, err)
		return
	}
	noStore(w.Header())
	writeJSON(w, http.StatusOK, resp)
}

// exchangeCode is the authorization_code grant.
func (t *tokenEndpoint) exchangeCode(r *http.Request, p params, c *Client) (*tokenResponse, error) {
	ctx := r.Context()
	code := p.get("code")
	if code == "" {
		return nil, invalidRequest("code is required")
	}
	hash := HashSecret(code)
	// RFC 8707 §2.2: a bad resource is invalid_target and must not burn the
	// code, so it is checked before the code is consumed (AC-06).
	if peek, err := t.codes.PeekCode(ctx, hash); err == nil {
		if err := checkTarget(p, peek.Request.Resource); err != nil {
			return nil, err
		}
	}
	ac, err := t.codes.ConsumeCode(ctx, hash)
	if errors.Is(err, ErrCodeUsed) {
		return nil, t.revokeReplayed(ctx, c, hash, ac)
	}
	if err != nil {
		return nil, storeErr(err, invalidGrant("the authorization code is invalid or expired"))
	}
	if err := t.checkCode(p, c, ac); err != nil {
		return nil, err
	}
	g, rt, err := t.newGrant(ctx, c, ac, hash)
	if err != nil {
		return nil, err
	}
	return t.respond(g, rt, g.Scope)
}

// replayWait bounds how long a replay waits for the first redemption to
// record its grant before revoking it.
const replayWait = 500 * time.Millisecond

// revokeReplayed answers a used code. OAuth 2.1 §4.1.3: a replayed code revokes
// what it produced (AC-04). When the replay races the first redemption,
// it waits (briefly) until that redemption has created its grant, so the
// first caller still gets its answer (exactly one success, AC-03) and the
// tokens are revoked right after; if the wait runs out, revoking the grant
// id in advance makes the first redemption fail instead. Either way no
// token from a replayed code survives.
func (t *tokenEndpoint) revokeReplayed(ctx context.Context, c *Client, hash string, tomb *AuthCode) error {
	t.log.WarnContext(ctx, "authorization code replayed; revoking its grant", "step", "token", "client_id", c.ID)
	// The wait is for another request's progress, so it runs on the real
	// clock, never the injected one (a test's frozen clock would make it
	// endless).
	deadline := time.NewTimer(replayWait)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
wait:
	for tomb != nil && tomb.GrantID == "" {
		select {
		case <-ctx.Done():
			return unavailable(ctx.Err())
		case <-deadline.C:
			break wait
		case <-poll.C:
		}
		used, err := t.codes.PeekCode(ctx, hash)
		if !errors.Is(err, ErrCodeUsed) {
			break
		}
		tomb = used
	}
	// AC-04: what the code produced ends, its GitHub token at GitHub too.
	var ended *Grant
	if r, ok := t.grants.(grantReader); ok {
		ended, _ = r.GetGrant(ctx, grantIDForCode(hash))
	}
	if err := t.grants.RevokeGrant(ctx, grantIDForCode(hash)); err != nil {
		return unavailable(err)
	}
	if ended != nil {
		t.check.revokeAtGitHub(ctx, ended)
	}
	return invalidGrant("the authorization code was already used")
}

// checkCode binds the code to the client, its registration, the redirect
// URI and the PKCE verifier. The code is already consumed, so every
// failure burns it (PK-06).
func (t *tokenEndpoint) checkCode(p params, c *Client, ac *AuthCode) error {
	if t.now().After(ac.ExpiresAt) {
		return invalidGrant("the authorization code is invalid or expired")
	}
	if ac.Request.ClientID != c.ID || ac.Request.ClientVersion != c.Version {
		return invalidGrant("the authorization code was not issued to this client")
	}
	// OAuth 2.1 §4.1.3: redirect_uri may be omitted (PKCE binds the code), but
	// when sent it must be the one used at /authorize (RU-09).
	if ru := p.get("redirect_uri"); ru != "" && ru != ac.Request.RedirectURI {
		return invalidGrant("redirect_uri does not match the authorization request")
	}
	if !verifyPKCE(p.get("code_verifier"), ac.Request.Challenge) {
		return invalidGrant("PKCE verification failed")
	}
	return nil
}

// grantIDForCode derives the grant id from the code, so a replay knows
// which grant to revoke even if it races the first redemption.
func grantIDForCode(codeHash string) string { return HashSecret("grant\x00" + codeHash)[:32] }

// newGrant starts the refresh family for a redeemed code.
func (t *tokenEndpoint) newGrant(ctx context.Context, c *Client, ac *AuthCode, codeHash string) (*Grant, string, error) {
	rt, err := t.secret("")
	if err != nil {
		return nil, "", unavailable(err)
	}
	now := t.now()
	g := &Grant{ID: grantIDForCode(codeHash), ClientID: c.ID, User: ac.User, Scope: ac.Request.Scope,
		Resource: ac.Request.Resource, RedirectURI: ac.Request.RedirectURI, CreatedAt: now, LastUsed: now,
		ExpiresAt: now.Add(t.cfg.RefreshTokenLifetime), RefreshHash: HashSecret(rt), Version: 1,
		GitHub: ac.GitHub, CheckedAt: now}
	if err := t.grants.CreateGrant(ctx, g); err != nil {
		if errors.Is(err, ErrConflict) {
			// A replay of this code revoked the grant before it existed.
			return nil, "", invalidGrant("the authorization code was already used")
		}
		return nil, "", unavailable(err)
	}
	if err := t.codes.SetCodeGrant(ctx, codeHash, g.ID); err != nil {
		return nil, "", unavailable(err)
	}
	if !slices.Contains(c.Metadata.GrantTypes, grantRefresh) {
		rt = ""
	}
	t.log.InfoContext(ctx, "tokens issued", "step", "token", "grant_type", grantCode, "client_id", c.ID, "github_id", g.User.ID)
	return g, rt, nil
}

// respond signs an access token for the grant.
func (t *tokenEndpoint) respond(g *Grant, rt, scope string) (*tokenResponse, error) {
	at, err := t.accessToken(g, scope)
	if err != nil {
		return nil, unavailable(err)
	}
	return &tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(t.cfg.AccessTokenLifetime / time.Second),
		RefreshToken: rt, Scope: scope}, nil
}

// accessToken builds the RFC 9068 JWT: aud is the resource the grant is
// for, or the issuer when none was asked (RS-02 is the gate's side).
func (t *tokenEndpoint) accessToken(g *Grant, scope string) (string, error) {
	jti, err := t.secret("")
	if err != nil {
		return "", err
	}
	now := t.now().Truncate(time.Second)
	aud := g.Resource
	if aud == "" {
		aud = t.cfg.Issuer
	}
	return t.tokens.Sign(&Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.cfg.Issuer, Subject: g.User.ID, Audience: jwt.ClaimStrings{aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.cfg.AccessTokenLifetime)),
			IssuedAt:  jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: jti[:22],
		},
		ClientID: g.ClientID, Scope: scope, Username: g.User.Login, Email: g.User.Email, Name: g.User.Name, GrantID: g.ID,
	})
}
