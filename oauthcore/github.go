package oauthcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// maxUpstreamBytes caps what we read from GitHub (CD-11).
const maxUpstreamBytes = 1 << 20

// GitHub is the GitHub (or GitHub Enterprise Server) identity provider. The
// server is a confidential OAuth client of it.
type GitHub struct {
	oauth  *oauth2.Config
	apiURL string
	client *http.Client
	// now dates the expiry of GitHub App tokens (the server's clock).
	now func() time.Time
}

// NewGitHub builds the upstream from config; client may be nil.
func NewGitHub(cfg GitHubConfig, callbackURL string, client *http.Client) *GitHub {
	web := strings.TrimSuffix(cfg.WebURL, "/")
	if client == nil {
		client = &http.Client{
			Timeout: cfg.Timeout,
			// Never follow a redirect away from the configured endpoints.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &GitHub{
		oauth: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   web + "/login/oauth/authorize",
				TokenURL:  web + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInHeader,
			},
			RedirectURL: callbackURL,
			Scopes:      cfg.requestedScopes(),
		},
		apiURL: strings.TrimSuffix(cfg.APIURL, "/"),
		client: client,
		now:    time.Now,
	}
}

// AuthCodeURL is GitHub's authorize URL for state.
func (g *GitHub) AuthCodeURL(state string) string {
	return g.oauth.AuthCodeURL(state, oauth2.SetAuthURLParam("allow_signup", "false"))
}

// Exchange trades GitHub's code for a token and reads the user with it.
func (g *GitHub) Exchange(ctx context.Context, code string) (User, error) {
	u, _, err := g.ExchangeToken(ctx, code)
	return u, err
}

// ExchangeToken is Exchange that also returns the user's GitHub token. It
// never leaves this process but to an upstream a gate hands it to, and is
// stored only encrypted (CD-10).
func (g *GitHub) ExchangeToken(ctx context.Context, code string) (User, *GitHubToken, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := g.oauth.Exchange(ctx, code)
	if err != nil {
		return User{}, nil, fmt.Errorf("github token exchange: %w", sanitizeOAuthErr(err))
	}
	gt := g.githubToken(tok)
	u, err := g.user(ctx, gt.AccessToken)
	return u, gt, err
}

// Refresh trades a GitHub App refresh token for a new pair; GitHub
// retires the old one. bad_refresh_token is errGitHubTokenRevoked.
func (g *GitHub) Refresh(ctx context.Context, refreshToken string) (*GitHubToken, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	src := g.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)})
	tok, err := src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "bad_refresh_token" {
			return nil, errGitHubTokenRevoked
		}
		return nil, &githubOutage{cause: "token refresh: " + sanitizeOAuthErr(err).Error()}
	}
	return g.githubToken(tok), nil
}

// githubToken reads the kind of token from GitHub's answer: GitHub App
// user tokens expire (expires_in, dated by the server's clock) and are
// ghu_ tokens.
func (g *GitHub) githubToken(tok *oauth2.Token) *GitHubToken {
	scopes, _ := tok.Extra("scope").(string)
	gt := &GitHubToken{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry,
		Scopes: scopes, App: !tok.Expiry.IsZero() || strings.HasPrefix(tok.AccessToken, "ghu_")}
	var secs int64
	switch v := tok.Extra("expires_in").(type) {
	case string:
		secs, _ = strconv.ParseInt(v, 10, 64)
	case int64: // x/oauth2 parses form-encoded numbers
		secs = v
	case float64: // and JSON ones
		secs = int64(v)
	}
	if secs > 0 {
		gt.Expiry = g.now().Add(time.Duration(secs) * time.Second)
	}
	return gt
}

// user reads the authenticated user.
func (g *GitHub) user(ctx context.Context, token string) (User, error) {
	var u struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := g.get(ctx, token, "/user", &u); err != nil {
		return User{}, err
	}
	if u.ID <= 0 || u.Login == "" {
		return User{}, errors.New("github /user: response lacks id or login")
	}
	user := User{ID: strconv.FormatInt(u.ID, 10), Login: u.Login, Email: u.Email, Name: u.Name}
	if user.Email == "" {
		// A private e-mail is only in /user/emails; missing it is not fatal.
		user.Email = g.primaryEmail(ctx, token)
	}
	return user, nil
}

// ResolveLogin returns the numeric id GitHub has for a login now.
func (g *GitHub) ResolveLogin(ctx context.Context, login string) (string, error) {
	if login == "" || strings.ContainsAny(login, "/?#%") {
		return "", errUnknownLogin
	}
	var u struct {
		ID int64 `json:"id"`
	}
	if err := g.get(ctx, "", "/users/"+login, &u); err != nil {
		var se *githubStatusError
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			return "", errUnknownLogin
		}
		return "", err
	}
	if u.ID <= 0 {
		return "", errUnknownLogin
	}
	return strconv.FormatInt(u.ID, 10), nil
}

func (g *GitHub) primaryEmail(ctx context.Context, token string) string {
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, token, "/user/emails", &emails); err != nil {
		return ""
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			return e.Email
		}
	}
	return ""
}

func (g *GitHub) get(ctx context.Context, token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.apiURL+path, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("github %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &githubStatusError{path: path, status: resp.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUpstreamBytes)).Decode(v); err != nil {
		return fmt.Errorf("github %s: %w", path, err)
	}
	return nil
}

// githubStatusError is a non-200 answer of GitHub's REST API.
type githubStatusError struct {
	path   string
	status int
}

func (e *githubStatusError) Error() string {
	return fmt.Sprintf("github %s: status %d", e.path, e.status)
}

// sanitizeOAuthErr keeps GitHub's error code but drops the response body,
// which is untrusted text (and must not end up in logs verbatim).
func sanitizeOAuthErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = "status " + strconv.Itoa(re.Response.StatusCode)
		}
		return errors.New("github answered " + code)
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return errors.New("github timed out")
	}
	return errors.New("github request failed")
}
