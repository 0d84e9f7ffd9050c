package oauthcore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
)

// refresh is the refresh_token grant: bound to its client, narrowed only,
// rotated on every use, with a grace window in which the previous token
// yields the same successor, and family revocation on reuse after it
// (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).
func (t *tokenEndpoint) refresh(r *http.Request, p params, c *Client) (*tokenResponse, error) {
	ctx := r.Context()
	rt := p.get("refresh_token")
	if rt == "" {
		return nil, invalidRequest("refresh_token is required")
	}
	hash := HashSecret(rt)
	for attempt := 0; attempt < 4; attempt++ {
		g, err := t.grants.GrantByRefresh(ctx, hash)
		if err != nil {
			return nil, storeErr(err, invalidGrant("the refresh token is invalid or expired"))
		}
		scope, err := t.checkRefresh(p, c, g)
		if err != nil {
			return nil, err
		}
		// SS-05: a document client's grant lasts while its (possibly
		// refetched) document lists the redirect URI the code went to.
		if isDocumentClient(c) && !matchRedirectURI(c.Metadata.RedirectURIs, g.RedirectURI) {
			return nil, t.endGrant(r, g, "the client's metadata document no longer lists the redirect URI of this grant")
		}
		if err := t.recheck(ctx, g); err != nil {
			return nil, err
		}
		next, err := t.rotate(ctx, g, hash, rt)
		if errors.Is(err, ErrConflict) {
			continue // a concurrent refresh won; look again
		}
		if err != nil {
			return nil, err
		}
		return t.respond(g, next, scope)
	}
	return nil, unavailable(errors.New("refresh: too many concurrent rotations"))
}

// recheck applies the policy again with the user's GitHub token (RT-08,
// CD-09): a user on no list any more, a GitHub token GitHub no longer
// accepts, or a failed GitHub App token renewal ends the grant
// (invalid_grant); GitHub unable to answer keeps it (503). The grant
// takes the memberships found, to be stored with the rotation.
func (t *tokenEndpoint) recheck(ctx context.Context, g *Grant) error {
	ms, tok, err := t.check.recheck(ctx, g)
	if endsGrant(err) {
		if err := t.check.end(ctx, g, err); err != nil {
			return err
		}
		return invalidGrant("this GitHub account is no longer allowed; sign in again")
	}
	if err != nil {
		return AsError(err) // GitHub cannot say now: the grant stays
	}
	g.User, g.CheckedAt = withMembership(g.User, ms), t.now()
	// Sealed again with the newest key on every rotation, so a retired
	// token key is needed no longer than a grant can live unrefreshed.
	if tok != nil {
		sealed, err := t.check.sealer.seal(ctx, tok, g.ID)
		if err != nil {
			return unavailable(err)
		}
		g.GitHub = sealed
	}
	return nil
}

// refreshWithoutClient answers a refresh whose client could not be
// resolved. SS-05: a document client whose document is now unacceptable (it no
// longer parses, its client_id changed, it asks for a secret, its host is
// no longer allowed: Kind.Permanent) loses the grant: invalid_grant, and
// the grant revoked. A document out of reach keeps it (503), as does
// every other failure.
func (t *tokenEndpoint) refreshWithoutClient(r *http.Request, p params, err error) error {
	de := documentErr(err)
	if de == nil || !de.Kind.Permanent() || p.get("refresh_token") == "" {
		return err
	}
	g, gerr := t.grants.GrantByRefresh(r.Context(), HashSecret(p.get("refresh_token")))
	if gerr != nil || g.ClientID != p.get("client_id") {
		return err
	}
	return t.endGrant(r, g, "the client's metadata document is no longer acceptable: "+de.Reason)
}

// endGrant revokes g and refuses the refresh with desc.
func (t *tokenEndpoint) endGrant(r *http.Request, g *Grant, desc string) error {
	if err := t.grants.RevokeGrant(r.Context(), g.ID); err != nil {
		return unavailable(err)
	}
	t.log.WarnContext(r.Context(), "grant revoked on refresh", "step", "token", "client_id", g.ClientID, "reason", desc)
	t.check.revokeAtGitHub(r.Context(), g)
	return invalidGrant(desc)
}

// checkRefresh binds the token to its client and narrows scope and resource.
func (t *tokenEndpoint) checkRefresh(p params, c *Client, g *Grant) (string, error) {
	if g.ClientID != c.ID {
		return "", invalidGrant("the refresh token was not issued to this client")
	}
	if t.now().After(g.ExpiresAt) {
		return "", invalidGrant("the refresh token is invalid or expired")
	}
	if err := checkTarget(p, g.Resource); err != nil {
		return "", err
	}
	// RFC 6749 §6: a refresh may narrow the scope, never widen it; the
	// client knows its grant, so anything outside it is refused.
	// offline_access is ignored, as everywhere (refresh tokens are always
	// issued).
	scope := g.Scope
	if req := p.get("scope"); req != "" {
		granted := strings.Fields(g.Scope)
		var out []string
		for _, sc := range strings.Fields(req) {
			if sc == scopeOfflineAccess || slices.Contains(out, sc) {
				continue
			}
			if !slices.Contains(granted, sc) {
				return "", NewError(400, CodeInvalidScope, "scope may only be narrowed on refresh")
			}
			out = append(out, sc)
		}
		if len(out) > 0 {
			scope = strings.Join(out, " ")
		}
	}
	return scope, nil
}

// rotate returns the refresh token to hand out for presented token rt.
func (t *tokenEndpoint) rotate(ctx context.Context, g *Grant, hash, rt string) (string, error) {
	now := t.now()
	switch {
	case hash == g.RefreshHash:
		next, err := t.secret("")
		if err != nil {
			return "", unavailable(err)
		}
		sealed, err := seal(rt, next, t.rand)
		if err != nil {
			return "", unavailable(err)
		}
		g.PrevRefreshHash, g.RefreshHash, g.Successor = hash, HashSecret(next), sealed
		g.RotatedAt, g.LastUsed, g.ExpiresAt = now, now, now.Add(t.cfg.RefreshTokenLifetime)
		g.Version++
		if err := t.grants.UpdateGrant(ctx, g); err != nil {
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
				return "", ErrConflict
			}
			return "", unavailable(err)
		}
		t.log.InfoContext(ctx, "refresh token rotated", "step", "token", "grant_type", grantRefresh, "client_id", g.ClientID)
		return next, nil
	case hash == g.PrevRefreshHash && now.Sub(g.RotatedAt) <= t.cfg.RefreshGrace:
		// Lost response or a parallel refresh: the same successor again.
		next, err := unseal(rt, g.Successor)
		if err != nil {
			return "", unavailable(err)
		}
		return next, nil
	}
	// An older token, or the previous one after the grace window: the
	// family is compromised (RT-03).
	t.log.WarnContext(ctx, "refresh token reused; revoking its grant", "step", "token", "client_id", g.ClientID)
	t.metrics.RefreshReuse()
	if err := t.grants.RevokeGrant(ctx, g.ID); err != nil {
		return "", unavailable(err)
	}
	t.check.revokeAtGitHub(ctx, g)
	return "", invalidGrant("the refresh token was already used")
}

// seal encrypts the successor refresh token with a key only the holder of
// the previous token can derive, so the store keeps no usable token.
func seal(prev, next string, rand io.Reader) ([]byte, error) {
	aead, err := successorAEAD(prev)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(next), nil), nil
}

func unseal(prev string, sealed []byte) (string, error) {
	aead, err := successorAEAD(prev)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], nil)
	return string(plain), err
}

func successorAEAD(prev string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte("mcpoauth refresh successor\x00" + prev))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
