package fakegithub

import (
	"net/http"
	"strconv"
	"strings"
)

// The org and team endpoints. Each answers as GitHub does: JSON bodies
// and status codes of the REST API, 403 with X-GitHub-SSO for an
// SSO-enforced org the token is not authorized for, 404 for what the
// token may not see.

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
