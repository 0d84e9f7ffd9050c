package oauthcore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// tokenRefresher renews GitHub App user tokens (*GitHub).
type tokenRefresher interface {
	Refresh(ctx context.Context, refreshToken string) (*GitHubToken, error)
}

// tokenRevoker deletes a user's token at GitHub (*GitHub).
type tokenRevoker interface {
	RevokeToken(ctx context.Context, token string) error
}

// tokenValidator asks GitHub whether it still accepts a user's token
// (*GitHub): errGitHubTokenRevoked when it does not.
type tokenValidator interface {
	ValidateToken(ctx context.Context, token string) error
}

// grantReader reads a live grant by id (every store has it).
type grantReader interface {
	GetGrant(ctx context.Context, id string) (*Grant, error)
}

// grantChecker re-checks a grant's user against the policy with the
// user's stored GitHub token: on refresh and, through the gate's
// sessions, within membership_ttl at the gate.
type grantChecker struct {
	policy    *policy
	sealer    *sealer
	grants    GrantStore
	refresher tokenRefresher // nil: GitHub App tokens are not renewed
	revoker   tokenRevoker   // nil: nothing is revoked at GitHub
	validator tokenValidator // nil: tokens are not validated
	now       func() time.Time
	log       *slog.Logger
}

// recheck returns the user's memberships now and their GitHub token
// (nil when the grant has none). An error for which endsGrant is true
// means the grant is over; any other is an outage.
func (gc *grantChecker) recheck(ctx context.Context, g *Grant) (Membership, *GitHubToken, error) {
	tok, err := gc.sealer.open(ctx, g.GitHub, g.ID)
	if err != nil {
		return Membership{}, nil, unavailable(err)
	}
	if tok != nil && tok.App && gc.refresher != nil && gc.due(tok) {
		if tok, err = gc.renew(ctx, g, tok); err != nil {
			return Membership{}, nil, err
		}
	}
	access := ""
	if tok != nil {
		access = tok.AccessToken
	}
	ms, err := gc.policy.admit(ctx, g.User, access)
	return ms, tok, err
}

// validate checks the token with GitHub (nil when no validator is known).
func (gc *grantChecker) validate(ctx context.Context, tok *GitHubToken) error {
	if gc.validator == nil {
		return nil
	}
	err := gc.validator.ValidateToken(ctx, tok.AccessToken)
	if err == nil || errors.Is(err, errGitHubTokenRevoked) {
		return err
	}
	return unavailable(err) // GitHub cannot say: never "revoked"
}

// due reports whether a GitHub App token expires within the refresh
// margin (or has expired).
func (gc *grantChecker) due(tok *GitHubToken) bool {
	return !tok.Expiry.IsZero() && gc.now().Add(githubRefreshMargin).After(tok.Expiry)
}

// githubRefreshMargin is how long before its expiry a GitHub App user
// token (8 h) is renewed.
const githubRefreshMargin = 15 * time.Minute

// end revokes a grant whose user lost access, and its GitHub token at
// GitHub (best effort).
func (gc *grantChecker) end(ctx context.Context, g *Grant, why error) error {
	if err := gc.grants.RevokeGrant(ctx, g.ID); err != nil {
		return unavailable(err)
	}
	gc.log.WarnContext(ctx, "grant ended by the GitHub policy re-check", "client_id", g.ClientID,
		"github_id", g.User.ID, "reason", why.Error())
	gc.revokeAtGitHub(ctx, g)
	return nil
}

// revokeAtGitHub deletes the grant's GitHub token at GitHub, best effort:
// the grant is gone either way.
func (gc *grantChecker) revokeAtGitHub(ctx context.Context, g *Grant) {
	if gc.revoker == nil || len(g.GitHub) == 0 {
		return
	}
	tok, err := gc.sealer.open(ctx, g.GitHub, g.ID)
	if err != nil || tok == nil {
		return
	}
	if err := gc.revoker.RevokeToken(context.WithoutCancel(ctx), tok.AccessToken); err != nil {
		gc.log.InfoContext(ctx, "could not revoke the GitHub token of an ended grant", "cause", err.Error())
	}
}

// errStaleGrant: the grant changed while a GitHub token was renewed.
var errStaleGrant = errors.New("grant changed concurrently")

// renew refreshes a GitHub App token that is due, once: GitHub retires
// the old pair on refresh, so only one caller across every instance may
// use the refresh token (a lock in the store, and in process), and the
// new pair is stored (compare-and-swap on the grant) before it is used.
// bad_refresh_token is believed only after re-reading the grant: a
// concurrent renewal may have stored the new pair meanwhile.
func (gc *grantChecker) renew(ctx context.Context, g *Grant, tok *GitHubToken) (*GitHubToken, error) {
	unlock, err := gc.lock(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if fresh, ftok, err := gc.reread(ctx, g); err != nil {
		return nil, err
	} else if !gc.due(ftok) {
		*g = *fresh // renewed by another caller while we waited
		return ftok, nil
	} else {
		*g, tok = *fresh, ftok
	}
	next, err := gc.refresher.Refresh(ctx, tok.RefreshToken)
	if errors.Is(err, errGitHubTokenRevoked) {
		fresh, ftok, rerr := gc.reread(ctx, g)
		if rerr == nil && ftok.RefreshToken != tok.RefreshToken {
			*g = *fresh
			return ftok, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return next, gc.storeToken(ctx, g, next)
}

// reread loads the grant and its token as stored now.
func (gc *grantChecker) reread(ctx context.Context, g *Grant) (*Grant, *GitHubToken, error) {
	r, ok := gc.grants.(grantReader)
	if !ok {
		return g, nil, unavailable(errors.New("the store cannot read grants by id"))
	}
	fresh, err := r.GetGrant(ctx, g.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errNotAllowed // the grant ended meanwhile
	}
	if err != nil {
		return nil, nil, unavailable(err)
	}
	tok, err := gc.sealer.open(ctx, fresh.GitHub, fresh.ID)
	if err != nil || tok == nil {
		return nil, nil, unavailable(errors.New("the grant's GitHub token cannot be read"))
	}
	return fresh, tok, nil
}

// storeToken writes the renewed token into the grant, retrying on
// concurrent rotations of the grant's refresh token.
func (gc *grantChecker) storeToken(ctx context.Context, g *Grant, tok *GitHubToken) error {
	sealed, err := gc.sealer.seal(ctx, tok, g.ID)
	if err != nil {
		return unavailable(err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		upd := *g
		upd.GitHub, upd.Version = sealed, g.Version+1
		err := gc.grants.UpdateGrant(ctx, &upd)
		if err == nil {
			*g = upd
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return unavailable(err)
		}
		fresh, _, rerr := gc.reread(ctx, g)
		if rerr != nil {
			return rerr
		}
		*g = *fresh
	}
	return unavailable(errStaleGrant)
}

// renewLocks serialise renewals in this process (by grant id hash).
var renewLocks [64]sync.Mutex

// lock holds the renewal of a grant's GitHub token: in process, and in
// the store when it is shared (Locker), waiting a bounded time for
// another instance's renewal to finish.
func (gc *grantChecker) lock(ctx context.Context, grantID string) (func(), error) {
	mu := &renewLocks[shardOf(grantID)*4%len(renewLocks)]
	mu.Lock()
	locker, ok := ability[Locker](gc.grants)
	if !ok {
		return mu.Unlock, nil
	}
	// A real wait (another process holds the lock): wall time, not the
	// injected clock.
	deadline := time.Now().Add(renewLockWait)
	for {
		release, got, err := locker.TryLock(ctx, "github-refresh:"+grantID, renewLockTTL)
		if err != nil {
			mu.Unlock()
			return nil, unavailable(err)
		}
		if got {
			return func() { release(); mu.Unlock() }, nil
		}
		if time.Now().After(deadline) {
			mu.Unlock()
			return nil, unavailable(errors.New("another instance is renewing this GitHub token"))
		}
		select {
		case <-ctx.Done():
			mu.Unlock()
			return nil, unavailable(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

const (
	renewLockTTL  = 30 * time.Second
	renewLockWait = 10 * time.Second
)
