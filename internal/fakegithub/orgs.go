package fakegithub

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Org is a GitHub organisation. SSO makes it SAML-SSO-enforced: a token
// of a member who has not authorized it for the app gets 403 with
// X-GitHub-SSO from the org's endpoints and is left out of list answers.
type Org struct {
	ID    int64
	Login string
	SSO   bool
}

// Team is a team of an org; Parent is the slug of its parent team.
type Team struct {
	ID     int64
	Org    string
	Slug   string
	Name   string
	Parent string
}

// orgState is one org with its members (login -> membership).
type orgState struct {
	Org
	members map[string]*membership
	// ssoAuthorized holds the logins that authorized the app for SSO.
	ssoAuthorized map[string]bool
}

type teamState struct {
	Team
	orgID   int64
	members map[string]*membership
}

// membership is GitHub's membership object: state "active" or "pending"
// (an invitation not yet accepted), role "member", "admin" or "maintainer".
type membership struct {
	state  string
	role   string
	public bool
}

// AddOrg creates an org or replaces its settings (matched by id).
func (s *Server) AddOrg(o Org) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.orgs[o.ID]; old != nil {
		old.Org = o
		return
	}
	s.orgs[o.ID] = &orgState{Org: o, members: map[string]*membership{}, ssoAuthorized: map[string]bool{}}
}

// RenameOrg gives the org with id a new login; the old name is free to
// be taken by another org.
func (s *Server) RenameOrg(id int64, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[id]; o != nil {
		for _, t := range s.teams {
			if t.orgID == id {
				t.Team.Org = login
			}
		}
		o.Login = login
	}
}

// SetOrgMember adds login to org (state "active" or "pending"; empty
// removes the membership). public makes the membership public.
func (s *Server) SetOrgMember(org, login, state string, public bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgByLoginLocked(org)
	if o == nil {
		return
	}
	key := strings.ToLower(login)
	if state == "" {
		delete(o.members, key)
		return
	}
	o.members[key] = &membership{state: state, role: "member", public: public}
}

// AuthorizeSSO records that login authorized the app for org's SSO.
func (s *Server) AuthorizeSSO(org, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgByLoginLocked(org); o != nil {
		o.ssoAuthorized[strings.ToLower(login)] = true
	}
}

// AddTeam creates a team (its org must exist).
func (s *Server) AddTeam(t Team) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgByLoginLocked(t.Org)
	if o == nil {
		return
	}
	if t.Name == "" {
		t.Name = t.Slug
	}
	s.teams[t.ID] = &teamState{Team: t, orgID: o.ID, members: map[string]*membership{}}
}

// SetTeamMember adds login to the team org/slug ("" state removes).
func (s *Server) SetTeamMember(org, slug, login, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teamLocked(org, slug)
	if t == nil {
		return
	}
	key := strings.ToLower(login)
	if state == "" {
		delete(t.members, key)
		return
	}
	t.members[key] = &membership{state: state, role: "member"}
}

func (s *Server) orgByLoginLocked(login string) *orgState {
	for _, o := range s.orgs {
		if strings.EqualFold(o.Login, login) {
			return o
		}
	}
	return nil
}

func (s *Server) teamLocked(org, slug string) *teamState {
	o := s.orgByLoginLocked(org)
	if o == nil {
		return nil
	}
	for _, t := range s.teams {
		if t.orgID == o.ID && t.Slug == slug {
			return t
		}
	}
	return nil
}

// teamMemberLocked reports the user's membership of t or, as GitHub
// counts it, of any team below t.
func (s *Server) teamMemberLocked(t *teamState, login string, depth int) *membership {
	if m := t.members[login]; m != nil {
		return m
	}
	if depth > 8 {
		return nil
	}
	for _, c := range s.teams {
		if c.orgID == t.orgID && c.Parent == t.Slug {
			if m := s.teamMemberLocked(c, login, depth+1); m != nil {
				return m
			}
		}
	}
	return nil
}

// ssoBlockedLocked reports whether org hides itself from the user's token.
func (o *orgState) ssoBlockedLocked(login string) bool {
	return o.SSO && !o.ssoAuthorized[strings.ToLower(login)]
}

func (s *Server) sortedOrgsLocked() []*orgState {
	out := make([]*orgState, 0, len(s.orgs))
	for _, o := range s.orgs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) sortedTeamsLocked() []*teamState {
	out := make([]*teamState, 0, len(s.teams))
	for _, t := range s.teams {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// orgJSON is GitHub's "organization simple".
func orgJSON(o Org) map[string]any {
	id := strconv.FormatInt(o.ID, 10)
	api := "https://api.github.com/orgs/" + o.Login
	return map[string]any{"login": o.Login, "id": o.ID, "node_id": "O_kgDO" + id, "url": api,
		"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
		"issues_url": api + "/issues", "members_url": api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         "https://avatars.githubusercontent.com/u/" + id + "?v=4", "description": nil}
}

func (s *Server) teamJSONLocked(t *teamState) map[string]any {
	id := strconv.FormatInt(t.ID, 10)
	api := "https://api.github.com/organizations/" + strconv.FormatInt(t.orgID, 10) + "/team/" + id
	var parent any
	if t.Parent != "" {
		for _, p := range s.teams {
			if p.orgID == t.orgID && p.Slug == t.Parent {
				parent = map[string]any{"id": p.ID, "slug": p.Slug, "name": p.Name}
			}
		}
	}
	return map[string]any{"id": t.ID, "node_id": "T_kwDO" + id, "url": api, "name": t.Name, "slug": t.Slug,
		"description": nil, "privacy": "closed", "notification_setting": "notifications_enabled",
		"permission": "pull", "members_url": api + "/members{/member}", "repositories_url": api + "/repos",
		"html_url": "https://github.com/orgs/" + t.Team.Org + "/teams/" + t.Slug, "parent": parent}
}

// writePage writes one page of a list as GitHub paginates it: per_page
// (default 30, at most 100) and page, with a Link header naming the
// next, last, first and prev pages.
func writePage(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((len(all)+per-1)/per, 1)
	start := min((page-1)*per, len(all))
	end := min(start+per, len(all))
	link := func(p int, rel string) string {
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		return "<" + "http://" + r.Host + r.URL.Path + "?" + v.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := all[start:end]
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// RenameUser gives an account a new login (its id stays): its tokens and
// org and team memberships follow it, as on GitHub.
func (s *Server) RenameUser(oldLogin, newLogin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldKey, newKey := strings.ToLower(oldLogin), strings.ToLower(newLogin)
	u, ok := s.users[oldKey]
	if !ok {
		return
	}
	delete(s.users, oldKey)
	u.Login = newLogin
	s.users[newKey] = u
	for _, g := range s.tokens {
		if strings.EqualFold(g.login, oldLogin) {
			g.login = newLogin
		}
	}
	for _, g := range s.refreshTokens {
		if strings.EqualFold(g.login, oldLogin) {
			g.login = newLogin
		}
	}
	for _, o := range s.orgs {
		if m, ok := o.members[oldKey]; ok {
			delete(o.members, oldKey)
			o.members[newKey] = m
		}
	}
	for _, t := range s.teams {
		if m, ok := t.members[oldKey]; ok {
			delete(t.members, oldKey)
			t.members[newKey] = m
		}
	}
}
