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

// ssoRequired answers 403 with GitHub's X-GitHub-SSO challenge.
func ssoRequired(w http.ResponseWriter, base string, o *orgState) {
	w.Header().Set("X-GitHub-SSO", "required; url="+base+"/orgs/"+o.Login+"/sso?authorization_request=AZSSO"+strconv.FormatInt(o.ID, 10))
	apiError(w, http.StatusForbidden, "Resource protected by organization SAML enforcement. You must grant your OAuth token access to this organization.",
		"https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/")
}

// serveUserOrgs is GET /user/orgs: the orgs the user is an active member
// of (private memberships only with read:org or user), paginated, with
// SSO-protected orgs left out and named in X-GitHub-SSO: partial-results.
func (s *Server) serveUserOrgs(w http.ResponseWriter, r *http.Request) {
	u, tg, ok := s.authenticate(w, r, "https://docs.github.com/rest/orgs/orgs#list-organizations-for-the-authenticated-user")
	if !ok {
		return
	}
	login := strings.ToLower(u.Login)
	private := hasScope(tg.scope, "read:org") || hasScope(tg.scope, "user") || tg.app
	s.mu.Lock()
	var out []map[string]any
	var hidden []string
	for _, o := range s.sortedOrgsLocked() {
		m := o.members[login]
		if m == nil || m.state != "active" || (!m.public && !private) {
			continue
		}
		if o.ssoBlockedLocked(login) {
			hidden = append(hidden, strconv.FormatInt(o.ID, 10))
			continue
		}
		out = append(out, orgJSON(o.Org))
	}
	s.mu.Unlock()
	if len(hidden) > 0 {
		w.Header().Set("X-GitHub-SSO", "partial-results; organizations="+strings.Join(hidden, ","))
	}
	apiHeaders(w, tg.scope, "")
	writePage(w, r, out)
}

// serveUserTeams is GET /user/teams (read:org): the teams the user is a
// direct member of, each with its full organization.
func (s *Server) serveUserTeams(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/teams/teams#list-teams-for-the-authenticated-user"
	u, tg, ok := s.authenticate(w, r, doc)
	if !ok {
		return
	}
	apiHeaders(w, tg.scope, "read:org, repo, user")
	if !tg.app && !hasScope(tg.scope, "read:org") && !hasScope(tg.scope, "repo") && !hasScope(tg.scope, "user") {
		apiError(w, http.StatusForbidden, "Resource not accessible by integration", doc)
		return
	}
	login := strings.ToLower(u.Login)
	s.mu.Lock()
	var out []map[string]any
	var hidden []string
	for _, t := range s.sortedTeamsLocked() {
		o := s.orgs[t.orgID]
		if m := t.members[login]; m == nil || m.state != "active" {
			continue
		}
		if o.ssoBlockedLocked(login) {
			hidden = append(hidden, strconv.FormatInt(o.ID, 10))
			continue
		}
		tj := s.teamJSONLocked(t)
		tj["organization"] = orgJSON(o.Org)
		out = append(out, tj)
	}
	s.mu.Unlock()
	if len(hidden) > 0 {
		w.Header().Set("X-GitHub-SSO", "partial-results; organizations="+strings.Join(hidden, ","))
	}
	writePage(w, r, out)
}

// serveOrg is GET /orgs/{org}: public, with a token or the app's client
// credentials (HTTP Basic), which GitHub rate-limits per app.
func (s *Server) serveOrg(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/orgs/orgs#get-an-organization"
	if r.Method != http.MethodGet {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	s.mu.Lock()
	o := s.orgByLoginLocked(r.PathValue("org"))
	var body map[string]any
	if o != nil {
		body = orgJSON(o.Org)
		body["type"], body["name"], body["html_url"] = "Organization", o.Login, "https://github.com/"+o.Login
	}
	s.mu.Unlock()
	apiHeaders(w, "", "")
	if body == nil {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// orgView is what a request's token sees of the org in its path, read
// under the lock: the org (nil if none), whether SSO hides it from the
// token, and the token owner's and the path user's memberships.
type orgView struct {
	org          *orgState
	sso          bool
	asker        *membership
	target       *membership
	orgJSON      map[string]any
	team         *teamState
	teamJSON     map[string]any
	teamMember   *membership
	membershipOf string // lowercased {username}
}

// askerActive reports whether the token's owner is an active org member.
func (v *orgView) askerActive() bool { return v.asker != nil && v.asker.state == "active" }

// view authenticates the request and reads the org (and the team, when
// the path names one) it is about.
func (s *Server) view(w http.ResponseWriter, r *http.Request, doc string) (User, *tokenGrant, *orgView, bool) {
	u, tg, ok := s.authenticate(w, r, doc)
	if !ok {
		return u, tg, nil, false
	}
	v := &orgView{membershipOf: strings.ToLower(r.PathValue("username"))}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.org = s.orgByLoginLocked(r.PathValue("org")); v.org == nil {
		return u, tg, v, true
	}
	v.sso, v.asker = v.org.ssoBlockedLocked(u.Login), v.org.members[strings.ToLower(u.Login)]
	v.target, v.orgJSON = v.org.members[v.membershipOf], orgJSON(v.org.Org)
	if slug := r.PathValue("team_slug"); slug != "" {
		if v.team = s.teamLocked(v.org.Login, slug); v.team != nil {
			v.teamJSON = s.teamJSONLocked(v.team)
			v.teamJSON["organization"] = v.orgJSON
			v.teamMember = s.teamMemberLocked(v.team, v.membershipOf, 0)
		}
	}
	return u, tg, v, true
}

// serveOrgMember is GET /orgs/{org}/members/{username}: 204 for a member,
// 404 for a non-member; a requester outside the org gets 302 to the public
// membership URL, as GitHub does.
func (s *Server) serveOrgMember(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user"
	_, tg, v, ok := s.view(w, r, doc)
	if !ok {
		return
	}
	apiHeaders(w, tg.scope, "")
	switch {
	case v.org == nil:
		apiError(w, http.StatusNotFound, "Not Found", doc)
	case v.sso:
		ssoRequired(w, s.URL, v.org)
	case !v.askerActive():
		w.Header().Set("Location", s.URL+"/orgs/"+v.org.Login+"/public_members/"+r.PathValue("username"))
		w.WriteHeader(http.StatusFound)
	case v.target != nil && v.target.state == "active":
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, http.StatusNotFound, "User does not exist or is not a member of the organization", doc)
	}
}

// serveTeam is GET /orgs/{org}/teams/{team_slug} (a member's token).
func (s *Server) serveTeam(w http.ResponseWriter, r *http.Request) {
	s.teamAnswer(w, r, "https://docs.github.com/rest/teams/teams#get-a-team-by-name",
		func(v *orgView) map[string]any { return v.teamJSON })
}

// serveTeamMembership is GET /orgs/{org}/teams/{team_slug}/memberships/
// {username}: 200 with state and role (members of child teams count), 404
// otherwise.
func (s *Server) serveTeamMembership(w http.ResponseWriter, r *http.Request) {
	s.teamAnswer(w, r, "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user",
		func(v *orgView) map[string]any {
			if v.teamMember == nil {
				return nil
			}
			return map[string]any{
				"url": s.URL + "/organizations/" + strconv.FormatInt(v.org.ID, 10) + "/team/" +
					strconv.FormatInt(v.team.ID, 10) + "/memberships/" + v.membershipOf,
				"role": v.teamMember.role, "state": v.teamMember.state,
			}
		})
}

// teamAnswer serves a team path to an active member of its org: 403 SSO
// for a token the org hides from, 404 when there is no team or answer.
func (s *Server) teamAnswer(w http.ResponseWriter, r *http.Request, doc string, answer func(*orgView) map[string]any) {
	_, tg, v, ok := s.view(w, r, doc)
	if !ok {
		return
	}
	apiHeaders(w, tg.scope, "")
	var body map[string]any
	if v.team != nil && v.askerActive() {
		body = answer(v)
	}
	switch {
	case v.org != nil && v.sso:
		ssoRequired(w, s.URL, v.org)
	case body == nil:
		apiError(w, http.StatusNotFound, "Not Found", doc)
	default:
		writeJSON(w, http.StatusOK, body)
	}
}

// serveUserOrgMembership is GET /user/memberships/orgs/{org} (read:org):
// the user's own membership, active or pending, 404 for none.
func (s *Server) serveUserOrgMembership(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user"
	u, tg, v, ok := s.view(w, r, doc)
	if !ok {
		return
	}
	apiHeaders(w, tg.scope, "admin:org, read:org, repo, user, write:org")
	switch {
	case !tg.app && !hasScope(tg.scope, "read:org") && !hasScope(tg.scope, "user") && !hasScope(tg.scope, "repo"):
		apiError(w, http.StatusForbidden, "You need at least read:org scope or user scope to view this membership.", doc)
	case v.org != nil && v.sso:
		ssoRequired(w, s.URL, v.org)
	case v.asker == nil:
		apiError(w, http.StatusNotFound, "Not Found", doc)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"url": s.URL + "/orgs/" + v.org.Login + "/memberships/" + u.Login,
			"organization_url": s.URL + "/orgs/" + v.org.Login, "organization": v.orgJSON, "user": userJSON(u),
			"state": v.asker.state, "role": v.asker.role})
	}
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
