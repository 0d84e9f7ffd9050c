package oauthcore

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// membershipReader is GitHub's side of org and team policies (*GitHub).
type membershipReader interface {
	ResolveOrg(ctx context.Context, name string) (GitHubOrg, error)
	UserOrgs(ctx context.Context, token string) (orgs []GitHubOrg, hidden []int64, err error)
	TeamID(ctx context.Context, token, org, slug string) (orgID, teamID int64, err error)
	TeamMember(ctx context.Context, token, org, slug, login string) (bool, error)
	OrgMembership(ctx context.Context, token, org string) error
	CurrentLogin(ctx context.Context, token string) (id, login string, err error)
}

// memberships applies allowed_orgs and allowed_teams. Orgs and teams are
// compared by GitHub's numeric ids, pinned when first resolved: an org
// renamed after that keeps its members, and whoever takes the old name
// (a squatter's new org) gets nobody in. Orgs are resolved at start-up
// with the app's credentials; teams need a member's token, so each is
// pinned at the first login of one of its members.
type memberships struct {
	gh    membershipReader
	orgs  []string    // configured org names
	teams [][2]string // configured org, slug
	log   *slog.Logger

	orgIDs  pins[int64] // lowercased configured name -> pinned id
	mu      sync.Mutex
	teamIDs map[string][2]int64 // "org/slug" lowercased -> pinned org id, team id
}

func newMemberships(cfg *GitHubConfig, up Upstream, log *slog.Logger) *memberships {
	gh, ok := up.(membershipReader)
	if !ok || !cfg.checksMembership() {
		return nil
	}
	m := &memberships{gh: gh, orgs: cfg.AllowedOrgs, log: log, teamIDs: map[string][2]int64{}}
	for _, t := range cfg.AllowedTeams {
		org, slug, _ := strings.Cut(t, "/")
		m.teams = append(m.teams, [2]string{org, slug})
	}
	return m
}

// Membership is what GitHub says of a user's allow-listed orgs and
// teams: only those (never every membership), by their current names,
// teams as "org/slug".
type Membership struct {
	Orgs  []string `json:"orgs,omitempty"`
	Teams []string `json:"teams,omitempty"`
}

func (m *Membership) any() bool { return len(m.Orgs)+len(m.Teams) > 0 }

// resolveOrgs pins the configured orgs (and the orgs of configured
// teams) not pinned yet. It never fails the start: an org GitHub cannot
// resolve now is tried again later and at the next login.
func (m *memberships) resolveOrgs(ctx context.Context) error {
	var errs []error
	for _, name := range m.orgNames() {
		if _, err := m.orgID(ctx, name); err != nil && !errors.Is(err, errGitHubNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *memberships) orgNames() []string {
	names := slices.Clone(m.orgs)
	for _, t := range m.teams {
		names = append(names, t[0])
	}
	return names
}

// orgID returns the id pinned for a configured org name, resolving it
// the first time.
func (m *memberships) orgID(ctx context.Context, name string) (int64, error) {
	return m.orgIDs.get(strings.ToLower(name), func() (int64, error) {
		o, err := m.gh.ResolveOrg(ctx, name)
		return o.ID, err
	})
}

// memberCheck is one check of a user's memberships in progress.
type memberCheck struct {
	ctx    context.Context
	token  string
	user   User
	byID   map[int64]string // org id -> current login, of the user's orgs
	hidden []int64          // SSO orgs GitHub left out of the listing
	out    Membership
	outage error  // GitHub could not answer one of the questions
	sso    string // a configured org that needs SSO authorization
	login  string // the user's login now (read once, for team checks)
}

// check asks GitHub which allow-listed orgs and teams the user is in. An
// error is an outage (*githubOutage), the token being dead
// (errGitHubTokenRevoked) or an SSO org to authorize (*ssoError), and only
// when the user is in none of them: a "no" is an empty Membership.
func (m *memberships) check(ctx context.Context, u User, token string) (Membership, error) {
	orgs, hidden, err := m.gh.UserOrgs(ctx, token)
	if err != nil {
		return Membership{}, err
	}
	c := &memberCheck{ctx: ctx, token: token, user: u, byID: map[int64]string{}, hidden: hidden}
	for _, o := range orgs {
		c.byID[o.ID] = o.Login
	}
	for _, name := range m.orgs {
		if login, ok := m.memberOf(c, name); ok && !slices.Contains(c.out.Orgs, login) {
			c.out.Orgs = append(c.out.Orgs, login)
		}
	}
	for _, t := range m.teams {
		if err := m.checkTeam(c, t[0], t[1]); errors.Is(err, errGitHubTokenRevoked) {
			return Membership{}, err
		}
	}
	switch {
	case c.out.any():
		return c.out, nil
	case c.outage != nil:
		return Membership{}, c.outage
	case c.sso != "":
		return Membership{}, m.ssoChallenge(c)
	}
	return Membership{}, nil
}

// memberOf reports whether the user is in the configured org, by id,
// and its current login.
func (m *memberships) memberOf(c *memberCheck, name string) (string, bool) {
	id, err := m.orgID(c.ctx, name)
	if err != nil {
		if !errors.Is(err, errGitHubNotFound) {
			c.outage = err
		}
		return "", false
	}
	if login, ok := c.byID[id]; ok {
		return login, true
	}
	if slices.Contains(c.hidden, id) {
		c.sso = name
	}
	return "", false
}

// checkTeam adds org/slug when the user is in the pinned team.
func (m *memberships) checkTeam(c *memberCheck, orgName, slug string) error {
	orgLogin, ok := m.memberOf(c, orgName)
	if !ok {
		return nil // not in the team's org: not in the team
	}
	orgID, teamID, err := m.gh.TeamID(c.ctx, c.token, orgLogin, slug)
	if err == nil {
		err = m.pinTeam(orgName+"/"+slug, orgID, teamID)
	}
	var member bool
	if err == nil {
		err = m.currentLogin(c)
	}
	if err == nil {
		member, err = m.gh.TeamMember(c.ctx, c.token, orgLogin, slug, c.login)
	}
	switch {
	case member:
		c.out.Teams = append(c.out.Teams, orgLogin+"/"+slug)
	case errors.As(err, new(*githubOutage)):
		c.outage = err
	case errors.As(err, new(*ssoError)):
		c.sso = orgName
	}
	return err
}

// currentLogin reads the user's login as GitHub has it now: the team
// membership endpoint is by login, and a user may have renamed theirs
// since the grant recorded it. A token of another account than the
// grant's is treated as dead.
func (m *memberships) currentLogin(c *memberCheck) error {
	if c.login != "" {
		return nil
	}
	id, login, err := m.gh.CurrentLogin(c.ctx, c.token)
	if err != nil {
		return err
	}
	if id != c.user.ID {
		return errGitHubTokenRevoked
	}
	c.login = login
	return nil
}

// errOtherTeam: the slug now names another team than the one pinned.
var errOtherTeam = errors.New("the team slug names another team than the one first seen")

// pinTeam pins org/slug at its first sight and refuses any other ids
// later, so a team renamed and replaced under the old slug does not
// inherit the allow-listing.
func (m *memberships) pinTeam(key string, orgID, teamID int64) error {
	key = strings.ToLower(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	pinned, ok := m.teamIDs[key]
	if !ok {
		m.teamIDs[key] = [2]int64{orgID, teamID}
		return nil
	}
	if pinned != [2]int64{orgID, teamID} {
		return errOtherTeam
	}
	return nil
}

// ssoChallenge asks GitHub for the SSO authorization URL of an org the
// listing left out.
func (m *memberships) ssoChallenge(c *memberCheck) error {
	err := m.gh.OrgMembership(c.ctx, c.token, c.sso)
	var se *ssoError
	if errors.As(err, &se) {
		return se
	}
	if err == nil || errors.Is(err, errGitHubNotFound) {
		return &ssoError{org: c.sso}
	}
	return err
}
