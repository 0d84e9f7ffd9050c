package fakegithub

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveUser is GET /user: the authenticated user, with "email" null when
// the address is private.
func (s *Server) serveUser(w http.ResponseWriter, r *http.Request) {
	u, tg, ok := s.authenticate(w, r, "https://docs.github.com/rest/users/users#get-the-authenticated-user")
	if !ok {
		return
	}
	apiHeaders(w, tg.scope, "")
	writeJSON(w, http.StatusOK, userJSON(u))
}

// servePublicUser is GET /users/{username}: any account's public profile,
// no token needed (how a login can be resolved to its stable numeric id).
func (s *Server) servePublicUser(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/users/users#get-a-user"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	s.mu.Lock()
	u, ok := s.users[strings.ToLower(r.PathValue("username"))]
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	apiHeaders(w, "", "")
	writeJSON(w, http.StatusOK, userJSON(u))
}

// serveEmails is GET /user/emails; without the user:email (or user) scope
// GitHub answers 404.
func (s *Server) serveEmails(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user"
	u, tg, ok := s.authenticate(w, r, doc)
	if !ok {
		return
	}
	apiHeaders(w, tg.scope, "user, user:email")
	if !hasScope(tg.scope, "user:email") && !hasScope(tg.scope, "user") {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	emails := u.Emails
	if emails == nil {
		emails = []Email{{Email: strings.ToLower(u.Login) + "@example.test", Primary: true, Verified: true, Visibility: "private"}}
	}
	out := make([]map[string]any, 0, len(emails))
	for _, e := range emails {
		var vis any
		if e.Visibility != "" {
			vis = e.Visibility
		}
		out = append(out, map[string]any{"email": e.Email, "primary": e.Primary, "verified": e.Verified, "visibility": vis})
	}
	writeJSON(w, http.StatusOK, out)
}

// authenticate accepts "Authorization: Bearer <token>" or "token <token>"
// (case-insensitive scheme), as GitHub does.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, doc string) (User, *tokenGrant, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return User{}, nil, false
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if token == "" || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		apiError(w, http.StatusUnauthorized, "Requires authentication", doc)
		return User{}, nil, false
	}
	s.mu.Lock()
	tg, ok := s.tokens[strings.TrimSpace(token)]
	var u User
	if ok && tg.app && !time.Now().Before(tg.expires) {
		ok = false // an expired GitHub App user token
	}
	if ok {
		u, ok = s.users[strings.ToLower(tg.login)]
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return User{}, nil, false
	}
	return u, tg, true
}

func hasScope(list, want string) bool {
	for _, sc := range strings.Split(list, ",") {
		if strings.TrimSpace(sc) == want {
			return true
		}
	}
	return false
}

func apiHeaders(w http.ResponseWriter, scopes, accepted string) {
	h := w.Header()
	h.Set("X-OAuth-Scopes", strings.ReplaceAll(scopes, ",", ", "))
	h.Set("X-Accepted-OAuth-Scopes", accepted)
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Resource", "core")
}

// userJSON is GitHub's "private user" representation, abridged.
func userJSON(u User) map[string]any {
	login := u.Login
	id := strconv.FormatInt(u.ID, 10)
	var email, name any
	if u.Email != "" {
		email = u.Email
	}
	if u.Name != "" {
		name = u.Name
	}
	return map[string]any{
		"login": login, "id": u.ID, "node_id": "U_kgDO" + id, "type": "User", "site_admin": false,
		"avatar_url": "https://avatars.githubusercontent.com/u/" + id + "?v=4", "gravatar_id": "",
		"url": "https://api.github.com/users/" + login, "html_url": "https://github.com/" + login,
		"name": name, "email": email, "company": nil, "blog": "", "location": nil, "bio": nil,
		"hireable": nil, "twitter_username": nil, "public_repos": 3, "public_gists": 0,
		"followers": 1, "following": 0, "created_at": "2015-03-14T09:26:53Z", "updated_at": "2026-01-02T10:00:00Z",
		"two_factor_authentication": true,
	}
}

func apiError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decodeJSON reads a small JSON request body.
func decodeJSON(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(v)
}
