package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// authorize runs the browser leg and returns the redirect's query.
func authorize(t *testing.T, s *Server, q url.Values) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(s.URL + "/login/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

func authQuery(state string) url.Values {
	return url.Values{"client_id": {"gh-client"}, "redirect_uri": {"https://as.test/callback"},
		"scope": {"read:user user:email"}, "state": {state}}
}

func postToken(t *testing.T, s *Server, form url.Values, basic bool, accept string) (int, string, string) {
	t.Helper()
	if basic {
		form = cloneValues(form)
		form.Del("client_secret")
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if basic {
		req.SetBasicAuth("gh-client", "gh-secret")
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

func TestAuthorizeRedirectsWithCodeAndState(t *testing.T) {
	s := Start(t, Options{})
	q := authQuery("st&ate=1")
	q.Set("redirect_uri", "https://as.test/callback?keep=1")
	got := authorize(t, s, q)
	if !regexp.MustCompile(`^[0-9a-f]{20}$`).MatchString(got.Get("code")) {
		t.Errorf("code %q is not 20 hex characters", got.Get("code"))
	}
	if got.Get("state") != "st&ate=1" || got.Get("keep") != "1" {
		t.Errorf("redirect query %v lost state or the registered query", got)
	}
	if codes := s.IssuedCodes(); len(codes) != 1 || codes[0] != got.Get("code") {
		t.Errorf("IssuedCodes = %v", codes)
	}
}

func TestAuthorizeRejectsUnknownClient(t *testing.T) {
	s := Start(t, Options{})
	q := authQuery("x")
	q.Set("client_id", "other")
	resp, err := noRedirect.Get(s.URL + "/login/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
		t.Errorf("unknown client: status %d location %q, want 404 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCancelAndNextLoginAreOneShot(t *testing.T) {
	s := Start(t, Options{})
	s.CancelNextLogin()
	got := authorize(t, s, authQuery("s1"))
	if got.Get("error") != "access_denied" || got.Get("error_description") == "" || got.Get("state") != "s1" || got.Has("code") {
		t.Errorf("cancel: %v", got)
	}
	s.NextLogin("bob")
	code := authorize(t, s, authQuery("s2")).Get("code")
	if code == "" {
		t.Fatal("the login after a cancel got no code")
	}
	tok := exchangeJSON(t, s, code)
	if u := getUser(t, s, "Bearer "+tok); u["login"] != "bob" {
		t.Errorf("NextLogin(bob): /user login = %v", u["login"])
	}
	tok = exchangeJSON(t, s, authorize(t, s, authQuery("s3")).Get("code"))
	if u := getUser(t, s, "token "+tok); u["login"] != "alice" {
		t.Errorf("after the one-shot login: /user login = %v, want alice", u["login"])
	}
}

func TestRedirectURIMustBeUnderTheCallback(t *testing.T) {
	s := Start(t, Options{CallbackURL: "https://as.test/callback"})
	q := authQuery("s")
	q.Set("redirect_uri", "https://as.test/callback/deeper")
	if authorize(t, s, q).Get("code") == "" {
		t.Error("a subdirectory of the callback was refused")
	}
	q.Del("redirect_uri")
	if authorize(t, s, q).Get("code") == "" {
		t.Error("an omitted redirect_uri did not default to the callback")
	}
	q.Set("redirect_uri", "https://evil.test/callback")
	got := authorize(t, s, q)
	if got.Get("error") != "redirect_uri_mismatch" || got.Has("code") {
		t.Errorf("foreign redirect_uri: %v", got)
	}
}

func exchangeJSON(t *testing.T, s *Server, code string) string {
	t.Helper()
	form := url.Values{"client_id": {"gh-client"}, "client_secret": {"gh-secret"}, "code": {code}}
	status, ctype, body := postToken(t, s, form, false, "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || status != 200 || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("token: %d %s %s", status, ctype, body)
	}
	if tok.Error != "" || !strings.HasPrefix(tok.AccessToken, "gho_") || tok.TokenType != "bearer" {
		t.Fatalf("token response %s", body)
	}
	return tok.AccessToken
}

func TestAccessTokenShapes(t *testing.T) {
	s := Start(t, Options{})
	code := authorize(t, s, authQuery("s")).Get("code")
	form := url.Values{"client_id": {"gh-client"}, "client_secret": {"gh-secret"}, "code": {code},
		"redirect_uri": {"https://as.test/callback"}}

	// Default: form-encoded, as GitHub answers clients that do not ask for JSON.
	status, ctype, body := postToken(t, s, form, true, "")
	v, _ := url.ParseQuery(body)
	if status != 200 || !strings.HasPrefix(ctype, "application/x-www-form-urlencoded") ||
		!regexp.MustCompile(`^gho_[A-Za-z0-9]{36}$`).MatchString(v.Get("access_token")) ||
		v.Get("token_type") != "bearer" || v.Get("scope") != "read:user,user:email" {
		t.Fatalf("form response: %d %s %q", status, ctype, body)
	}

	// Single use: the same code again is bad_verification_code, with 200.
	status, _, body = postToken(t, s, form, false, "application/json")
	if status != 200 || !strings.Contains(body, `"error":"bad_verification_code"`) {
		t.Errorf("replayed code: %d %s", status, body)
	}

	code = authorize(t, s, authQuery("s")).Get("code")
	bad := cloneValues(form)
	bad.Set("code", code)
	bad.Set("client_secret", "wrong")
	status, _, body = postToken(t, s, bad, false, "application/json")
	if status != 200 || !strings.Contains(body, `"error":"incorrect_client_credentials"`) {
		t.Errorf("wrong secret: %d %s", status, body)
	}
	bad.Set("client_secret", "gh-secret")
	bad.Set("redirect_uri", "https://as.test/other")
	status, _, body = postToken(t, s, bad, false, "application/json")
	if status != 200 || !strings.Contains(body, `"error":"redirect_uri_mismatch"`) {
		t.Errorf("other redirect_uri: %d %s", status, body)
	}
	if got := len(s.IssuedTokens()); got != 1 {
		t.Errorf("IssuedTokens has %d tokens, want 1", got)
	}
}

func getUser(t *testing.T, s *Server, auth string) map[string]any {
	t.Helper()
	status, body := apiGet(t, s, "/user", auth)
	if status != 200 {
		t.Fatalf("/user: %d %s", status, body)
	}
	var u map[string]any
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func apiGet(t *testing.T, s *Server, path, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestUserAndEmails(t *testing.T) {
	s := Start(t, Options{})
	s.NextLogin("bob")
	tok := exchangeJSON(t, s, authorize(t, s, authQuery("s")).Get("code"))
	u := getUser(t, s, "Bearer "+tok)
	if id, ok := u["id"].(float64); !ok || id != 4242 || u["login"] != "bob" || u["email"] != nil {
		t.Errorf("/user = %v; want numeric id 4242, login bob, email null", u)
	}
	if _, present := u["email"]; !present {
		t.Error("/user lacks the email member; GitHub sends null")
	}
	status, body := apiGet(t, s, "/user/emails", "token "+tok)
	if status != 200 || !strings.Contains(body, `"email":"bob@example.test"`) || !strings.Contains(body, `"primary":true`) ||
		!strings.Contains(body, `"verified":true`) || !strings.Contains(body, `"visibility":"private"`) {
		t.Errorf("/user/emails: %d %s", status, body)
	}
	if status, body := apiGet(t, s, "/api/v3/user", "Bearer "+tok); status != 200 || !strings.Contains(body, `"login":"bob"`) {
		t.Errorf("GHES path /api/v3/user: %d %s", status, body)
	}
	if status, body := apiGet(t, s, "/users/BOB", ""); status != 200 || !strings.Contains(body, `"id":4242`) {
		t.Errorf("/users/BOB: %d %s", status, body)
	}
	if status, _ := apiGet(t, s, "/users/nobody", ""); status != 404 {
		t.Errorf("/users/nobody: %d, want 404", status)
	}
	if status, body := apiGet(t, s, "/user", ""); status != 401 || !strings.Contains(body, "Requires authentication") {
		t.Errorf("no token: %d %s", status, body)
	}
	if status, body := apiGet(t, s, "/user", "Bearer gho_nope"); status != 401 || !strings.Contains(body, "Bad credentials") {
		t.Errorf("bad token: %d %s", status, body)
	}

	// A token without user:email cannot list addresses: GitHub says 404.
	q := authQuery("s")
	q.Set("scope", "read:user")
	tok = exchangeJSON(t, s, authorize(t, s, q).Get("code"))
	if status, _ := apiGet(t, s, "/user/emails", "Bearer "+tok); status != 404 {
		t.Errorf("/user/emails without user:email: %d, want 404", status)
	}
}

func TestRecordsRequests(t *testing.T) {
	s := Start(t, Options{})
	if s.Contacted() {
		t.Fatal("a fresh fake reports contact")
	}
	tok := exchangeJSON(t, s, authorize(t, s, authQuery("s")).Get("code"))
	getUser(t, s, "Bearer "+tok)
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3: %+v", len(reqs), reqs)
	}
	want := []Request{
		{Method: "GET", Path: "/login/oauth/authorize"},
		{Method: "POST", Path: "/login/oauth/access_token", ClientAuth: true},
		{Method: "GET", Path: "/user", Token: true},
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != w.Method || r.Path != w.Path || r.Token != w.Token || r.ClientAuth != w.ClientAuth {
			t.Errorf("request %d = %+v, want %+v", i, r, w)
		}
	}
	if s.Count("/user") != 1 || s.Count("/user/emails") != 0 {
		t.Errorf("Count: /user %d, /user/emails %d", s.Count("/user"), s.Count("/user/emails"))
	}
	secrets := s.Secrets()
	if !contains(secrets, tok) || !contains(secrets, "gh-secret") {
		t.Errorf("Secrets() = %v lacks the token or the client secret", secrets)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestTokenEndpointHangsUntilClosed(t *testing.T) {
	s := Start(t, Options{})
	s.HangTokenEndpoint(true)
	code := authorize(t, s, authQuery("s")).Get("code")
	c := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err := c.PostForm(s.URL+"/login/oauth/access_token",
		url.Values{"client_id": {"gh-client"}, "client_secret": {"gh-secret"}, "code": {code}})
	var ne interface{ Timeout() bool }
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("hanging token endpoint: err = %v, want a client timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %s", d)
	}
	s.HangTokenEndpoint(false)
	s.SetTokenDelay(50 * time.Millisecond)
	if tok := exchangeJSON(t, s, authorize(t, s, authQuery("s")).Get("code")); tok == "" {
		t.Error("no token after the hang ended")
	}
}

// TestGolangOAuth2Client checks the fake against golang.org/x/oauth2, the
// client library the authorization server uses, in both auth styles.
func TestGolangOAuth2Client(t *testing.T) {
	s := Start(t, Options{CallbackURL: "https://as.test/callback"})
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := &oauth2.Config{ClientID: "gh-client", ClientSecret: "gh-secret",
			Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/login/oauth/authorize",
				TokenURL: s.URL + "/login/oauth/access_token", AuthStyle: style},
			RedirectURL: "https://as.test/callback", Scopes: []string{"read:user", "user:email"}}
		verifier := oauth2.GenerateVerifier()
		resp, err := noRedirect.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect)
		tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		if !strings.HasPrefix(tok.AccessToken, "gho_") || tok.Extra("scope") != "read:user,user:email" {
			t.Errorf("style %d: token %+v scope %v", style, tok, tok.Extra("scope"))
		}
		_, err = conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "bad_verification_code" {
			t.Errorf("style %d: replay error = %v, want bad_verification_code", style, err)
		}
	}
}
