package oauthcore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Session is what a gate knows of a grant beyond its access token: the
// user's GitHub token (for gates that hand it to the upstream) and the
// allow-listed orgs and teams the user is in, as confirmed within
// membership_ttl. It is shared by every request of the grant: read only.
type Session struct {
	// GitHubToken is the user's GitHub access token; "" when the grant
	// has none (made before tokens were kept).
	GitHubToken string
	// MissingScopes: an OAuth App token lacks a configured GitHub scope
	// (the grant was made before the scope was added).
	MissingScopes bool
	// Orgs and Teams are comma-separated (teams as org/slug).
	Orgs  string
	Teams string
	// Attachment lets an adapter keep values derived from the session.
	Attachment atomic.Value

	until time.Time // when the session must be confirmed again
	ended bool      // the grant is over: refused until 'until'
	// tokenChecked: GitHub accepted the token within the TTL (it was
	// used for the check, or validated for a github_token gate).
	tokenChecked bool
}

// sessions caches Sessions by grant id, bounded, so the gate asks the
// store (and GitHub) about a grant at most once per membership_ttl.
type sessions struct {
	check  *grantChecker
	grants grantReader
	now    func() time.Time
	ttl    time.Duration
	max    int
	scopes []string // the OAuth App scopes a token must carry

	mu     sync.RWMutex
	m      map[string]*Session
	flight sync.Map // grant id -> *sessionLoad
}

type sessionLoad struct {
	done chan struct{}
	s    *Session
	err  error
}

func newSessions(gc *grantChecker, store Store, now func() time.Time, ttl time.Duration, max int) *sessions {
	gr, ok := store.(grantReader)
	if !ok {
		return nil // a store that cannot read grants by id: no re-check at the gate
	}
	return &sessions{check: gc, grants: gr, now: now, ttl: ttl, max: max, m: map[string]*Session{},
		scopes: gc.policy.scopes}
}

// get returns the session of a verified token's grant: from the cache
// while it is fresh, else confirmed again. useToken is set by gates that
// hand the GitHub token on: for them a token GitHub has not accepted
// within the TTL is checked with GitHub first, so a token the user
// revoked (they removed the app) ends the grant the next time it would be
// used. ErrInvalidToken: the grant is over (revoked, or its user lost
// access, which ends it now); an *Error: the store or GitHub cannot say
// (503).
func (ss *sessions) get(ctx context.Context, c *Claims, useToken bool) (*Session, error) {
	ss.mu.RLock()
	s := ss.m[c.GrantID]
	ss.mu.RUnlock()
	if s != nil && ss.now().Before(s.until) && (!useToken || s.tokenChecked || s.GitHubToken == "") {
		if s.ended {
			return nil, ErrInvalidToken
		}
		return s, nil
	}
	call := &sessionLoad{done: make(chan struct{})}
	if prev, loaded := ss.flight.LoadOrStore(c.GrantID, call); loaded {
		p := prev.(*sessionLoad)
		select {
		case <-p.done:
			return p.s, p.err
		case <-ctx.Done():
			return nil, unavailable(ctx.Err())
		}
	}
	call.s, call.err = ss.load(ctx, c.GrantID, useToken)
	if errors.Is(call.err, ErrInvalidToken) {
		// Remembered, so a token of an ended grant that the verifier
		// still caches (no announcement: the grant expired) costs no
		// store read per request.
		ss.put(c.GrantID, &Session{ended: true, until: ss.now().Add(ss.ttl)})
	}
	ss.flight.Delete(c.GrantID)
	close(call.done)
	return call.s, call.err
}

// load reads the grant and confirms the user: the membership stored with
// it while it was checked within the TTL (the allow-list is applied
// again, in process), else a re-check with GitHub.
func (ss *sessions) load(ctx context.Context, id string, useToken bool) (*Session, error) {
	g, err := ss.grants.GetGrant(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, unavailable(err)
	}
	now := ss.now()
	tok, err := ss.check.sealer.open(ctx, g.GitHub, g.ID)
	if err != nil {
		return nil, unavailable(err)
	}
	ms := Membership{Orgs: g.User.Orgs, Teams: g.User.Teams}
	// Checked within the TTL (at login or refresh), or now: with the
	// token itself when org or team lists need it, else validated with
	// GitHub when a gate is about to hand it on.
	checked := true
	if !ss.storedStillGood(ctx, g, tok, now) {
		ms, tok, err = ss.check.recheck(ctx, g)
		checked = ss.check.policy.members != nil
		if err == nil && useToken && tok != nil && !checked {
			err, checked = ss.check.validate(ctx, tok), true
		}
		if err = ss.ended(ctx, g, err); err != nil {
			return nil, err
		}
		g.CheckedAt = now
	}
	s := ss.session(g, tok, ms)
	s.tokenChecked = checked
	ss.put(id, s)
	return s, nil
}

// ended ends the grant when a re-check's error says so (ErrInvalidToken),
// and maps any other error to an outage.
func (ss *sessions) ended(ctx context.Context, g *Grant, err error) error {
	if endsGrant(err) {
		if err := ss.check.end(ctx, g, err); err != nil {
			return err
		}
		return ErrInvalidToken
	}
	if err != nil {
		return AsError(err)
	}
	return nil
}

// storedStillGood: the grant was checked within the TTL, its token is not
// due for renewal, and the current allow-list (a reload may have changed
// it) still admits the user by id or by the memberships found then.
func (ss *sessions) storedStillGood(ctx context.Context, g *Grant, tok *GitHubToken, now time.Time) bool {
	if now.Sub(g.CheckedAt) >= ss.ttl || (tok != nil && tok.App && ss.check.due(tok)) {
		return false
	}
	if byUser, err := ss.check.policy.users.allows(ctx, g.User); err == nil && byUser {
		return true
	}
	return ss.check.policy.members != nil && len(g.User.Orgs)+len(g.User.Teams) > 0
}

func (ss *sessions) session(g *Grant, tok *GitHubToken, ms Membership) *Session {
	s := &Session{Orgs: strings.Join(ms.Orgs, ","), Teams: strings.Join(ms.Teams, ","),
		until: g.CheckedAt.Add(ss.ttl)}
	if tok != nil {
		s.GitHubToken = tok.AccessToken
		s.MissingScopes = !tok.App && !hasGitHubScopes(tok.Scopes, ss.scopes)
		if !tok.Expiry.IsZero() && tok.Expiry.Add(-githubRefreshMargin).Before(s.until) {
			s.until = tok.Expiry.Add(-githubRefreshMargin) // renew before it expires
		}
	}
	return s
}

func (ss *sessions) put(id string, s *Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.m[id]; !ok && len(ss.m) >= ss.max {
		for k := range ss.m { // random eviction, as in the verifier
			delete(ss.m, k)
			break
		}
	}
	ss.m[id] = s
}

// announced drops the session of a revoked grant (or all of them).
func (ss *sessions) announced(kind, id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch kind {
	case "all":
		clear(ss.m)
	case "grant":
		delete(ss.m, id)
	}
}

// impliedScopes are GitHub scopes that include others.
var impliedScopes = map[string][]string{
	"user":      {"read:user", "user:email", "user:follow"},
	"admin:org": {"write:org", "read:org"},
	"write:org": {"read:org"},
	"repo":      {"public_repo", "repo:status", "repo_deployment", "repo:invite", "security_events"},
}

// hasGitHubScopes reports whether GitHub's comma-separated grant covers
// every wanted scope.
func hasGitHubScopes(granted string, want []string) bool {
	have := map[string]bool{}
	for _, sc := range strings.Split(granted, ",") {
		sc = strings.TrimSpace(sc)
		have[sc] = true
		for _, imp := range impliedScopes[sc] {
			have[imp] = true
		}
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}
