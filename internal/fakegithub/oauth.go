package fakegithub

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Documentation links GitHub puts in error_uri.
const (
	docsAuthorizeErrors = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors"
	docsTokenErrors     = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"
)

// serveAuthorize is GET /login/oauth/authorize for a user who is signed
// in and has already authorised the app: GitHub then redirects at once.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		notFoundPage(w)
		return
	}
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		// GitHub answers an unknown client_id with its 404 page.
		notFoundPage(w)
		return
	}
	redirect, ok := s.redirectFor(q.Get("redirect_uri"))
	if !ok {
		s.authorizeMismatch(w, r, q.Get("state"))
		return
	}
	s.mu.Lock()
	cancel, login := s.cancelNext, s.signedIn
	if s.nextLogin != "" {
		login = s.nextLogin
	}
	s.cancelNext, s.nextLogin = false, ""
	_, known := s.users[strings.ToLower(login)]
	s.mu.Unlock()
	if cancel {
		redirectWith(w, r, redirect, url.Values{"error": {"access_denied"},
			"error_description": {"The user has denied your application access."},
			"error_uri":         {docsAuthorizeErrors + "/#access-denied"}}, q.Get("state"))
		return
	}
	if !known {
		http.Error(w, "fakegithub: no such user "+login, http.StatusInternalServerError)
		return
	}
	code := s.issueCode(&codeGrant{login: login, scope: normalizeScope(q.Get("scope")),
		redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge")})
	redirectWith(w, r, redirect, url.Values{"code": {code}}, q.Get("state"))
}

func (s *Server) issueCode(g *codeGrant) string {
	code := randomString(hex, 20)
	g.expires = time.Now().Add(s.opts.CodeLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = g
	s.issuedCode = append(s.issuedCode, code)
	return code
}

// redirectFor applies GitHub's rule: an omitted redirect_uri means the
// registered callback; a given one must share its scheme, host and port
// and lie under its path.
func (s *Server) redirectFor(given string) (string, bool) {
	cb := s.callbackURL()
	if given == "" {
		return cb, cb != ""
	}
	u, err := url.Parse(given)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", false
	}
	if cb == "" {
		return given, true
	}
	c, err := url.Parse(cb)
	if err != nil {
		return "", false
	}
	under := u.Path == c.Path || strings.HasPrefix(u.Path, strings.TrimSuffix(c.Path, "/")+"/")
	return given, u.Scheme == c.Scheme && u.Host == c.Host && under
}

// authorizeMismatch is GitHub's answer to a redirect_uri that is not the
// app's: back to the registered callback with redirect_uri_mismatch.
func (s *Server) authorizeMismatch(w http.ResponseWriter, r *http.Request, state string) {
	cb := s.callbackURL()
	if cb == "" {
		http.Error(w, "The redirect_uri is not valid.", http.StatusBadRequest)
		return
	}
	redirectWith(w, r, cb, url.Values{"error": {"redirect_uri_mismatch"},
		"error_description": {"The redirect_uri MUST match the registered callback URL for this application."},
		"error_uri":         {docsAuthorizeErrors + "/#redirect-uri-mismatch"}}, state)
}

func (s *Server) callbackURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.CallbackURL
}

// redirectWith sends a 302 to target with v (and state, when non-empty)
// added to its query.
func redirectWith(w http.ResponseWriter, r *http.Request, target string, v url.Values, state string) {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// normalizeScope turns the requested scopes into GitHub's comma-separated
// form, without duplicates.
func normalizeScope(raw string) string {
	var out []string
	for _, sc := range strings.FieldsFunc(raw, func(r rune) bool { return r == ' ' || r == ',' }) {
		dup := false
		for _, o := range out {
			dup = dup || o == sc
		}
		if !dup {
			out = append(out, sc)
		}
	}
	return strings.Join(out, ",")
}

// serveAccessToken is POST /login/oauth/access_token. Like GitHub, it
// answers errors with status 200 and an "error" member, form-encoded
// unless the client asked for JSON.
func (s *Server) serveAccessToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		notFoundPage(w)
		return
	}
	if !s.wait(r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret := clientCredentials(r)
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		tokenReply(w, r, tokenErr("incorrect_client_credentials",
			"The client_id and/or client_secret passed are incorrect.", "#incorrect-client-credentials"))
		return
	}
	if r.PostForm.Get("grant_type") == "refresh_token" {
		s.refreshToken(w, r)
		return
	}
	g, errCode := s.redeem(r.PostForm)
	switch errCode {
	case "":
	case "redirect_uri_mismatch":
		tokenReply(w, r, tokenErr(errCode, "The redirect_uri MUST match the registered callback URL for this application.", "#redirect-uri-mismatch"))
		return
	default:
		tokenReply(w, r, tokenErr("bad_verification_code", "The code passed is incorrect or expired.", "#bad-verification-code"))
		return
	}
	tokenReply(w, r, s.issueToken(g.login, g.scope))
}

// issueToken mints an access token: an OAuth App's gho_ token with the
// granted scopes, or a GitHub App's expiring ghu_ token with its ghr_
// refresh token (and an empty scope: Apps have permissions instead).
func (s *Server) issueToken(login, scope string) [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.App {
		token := "gho_" + randomString(alnum, 36)
		s.tokens[token] = &tokenGrant{login: login, scope: scope}
		s.issued = append(s.issued, token)
		return [][2]string{{"access_token", token}, {"token_type", "bearer"}, {"scope", scope}}
	}
	token, refresh := "ghu_"+randomString(alnum, 36), "ghr_"+randomString(alnum, 76)
	life := s.opts.AppTokenLifetime
	s.tokens[token] = &tokenGrant{login: login, app: true, expires: time.Now().Add(life)}
	s.refreshTokens[refresh] = &tokenGrant{login: login, app: true, expires: time.Now().Add(4416 * time.Hour)}
	s.issued = append(s.issued, token, refresh)
	return [][2]string{{"access_token", token}, {"expires_in", strconv.Itoa(int(life.Seconds()))},
		{"refresh_token", refresh}, {"refresh_token_expires_in", "15897600"}, {"scope", ""}, {"token_type", "bearer"}}
}

// refreshToken is grant_type=refresh_token for GitHub App user tokens:
// the old refresh token (and its access token) is retired, a new pair is
// issued; an unknown, used or expired one is bad_refresh_token.
func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	g, ok := s.refreshTokens[rt]
	if ok {
		delete(s.refreshTokens, rt)
		s.refreshes++
		for tok, tg := range s.tokens {
			if tg.app && strings.EqualFold(tg.login, g.login) {
				delete(s.tokens, tok) // the pair is retired
			}
		}
	}
	if !ok {
		s.badRefreshes++
	}
	s.mu.Unlock()
	if !ok || !s.opts.App || time.Now().After(g.expires) {
		tokenReply(w, r, tokenErr("bad_refresh_token", "The refresh token passed is incorrect or expired.", "#bad-refresh-token"))
		return
	}
	tokenReply(w, r, s.issueToken(g.login, ""))
}

// BadRefreshes counts refresh_token grants with an unknown or already
// used refresh token (answered bad_refresh_token).
func (s *Server) BadRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badRefreshes
}

// Refreshes counts the successful refresh_token grants.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// wait applies the configured delay or hang; false means the request was
// abandoned (client gone or fake closed).
func (s *Server) wait(r *http.Request) bool {
	s.mu.Lock()
	hang, delay := s.hang, s.delay
	s.mu.Unlock()
	if !hang && delay <= 0 {
		return true
	}
	var timer <-chan time.Time // nil blocks forever: a hang
	if !hang {
		timer = time.After(delay)
	}
	select {
	case <-timer:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// redeem consumes a code, single use, and checks the redirect URI and the
// PKCE verifier it was issued with.
func (s *Server) redeem(form url.Values) (*codeGrant, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.codes[form.Get("code")]
	if !ok || g.used || time.Now().After(g.expires) {
		return nil, "bad_verification_code"
	}
	g.used = true
	if ru := form.Get("redirect_uri"); ru != "" && g.redirectURI != "" && ru != g.redirectURI {
		return nil, "redirect_uri_mismatch"
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			return nil, "bad_verification_code"
		}
	}
	return g, ""
}

// clientCredentials reads HTTP Basic (form-encoded parts, RFC 6749
// §2.3.1, as golang.org/x/oauth2 sends them) or the form fields.
func clientCredentials(r *http.Request) (string, string) {
	if id, secret, ok := r.BasicAuth(); ok {
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 == nil && err2 == nil {
			return uid, usecret
		}
		return id, secret
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

func tokenErr(code, desc, anchor string) [][2]string {
	return [][2]string{{"error", code}, {"error_description", desc}, {"error_uri", docsTokenErrors + "/" + anchor}}
}

// tokenReply writes the ordered members as JSON when Accept asks for it,
// else form-encoded, always with status 200.
func tokenReply(w http.ResponseWriter, r *http.Request, members [][2]string) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		var b strings.Builder
		b.WriteByte('{')
		for i, m := range members {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m[0])
			v, _ := json.Marshal(m[1])
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
		return
	}
	v := url.Values{}
	for _, m := range members {
		v.Set(m[0], m[1])
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(v.Encode()))
}

func notFoundPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("<!DOCTYPE html><title>Page not found · GitHub</title><h1>404</h1>"))
}
