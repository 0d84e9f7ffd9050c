package login

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// RedirectURI is the loopback redirect URI of the clients Login registers.
const RedirectURI = "http://127.0.0.1:33418/callback"

// RegistrationBody is the RFC 7591 request of a public client named name
// with RedirectURI as its only redirect URI.
func RegistrationBody(name string) []byte {
	b, _ := json.Marshal(map[string]any{"redirect_uris": []string{RedirectURI},
		"token_endpoint_auth_method": "none", "client_name": name})
	return b
}

// Tokens is what a login yields.
type Tokens struct {
	ClientID string // the public client registered for the login
	Access   string
	Refresh  string
}

// Login runs the whole login as an MCP client and its user would: it
// registers a public client, authorizes with PKCE S256 for resource (none
// when empty: the token's audience is then the issuer), approves the
// consent page, passes the fake GitHub at githubURL and the callback, and
// redeems the code.
func Login(issuer, githubURL, resource string) (*Tokens, error) {
	c := NewBrowser()
	defer c.CloseIdleConnections()
	clientID, err := register(c, issuer)
	if err != nil {
		return nil, err
	}
	verifier, state := oauth2.GenerateVerifier(), randomState()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {RedirectURI},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
		"state":                 {state},
	}
	if resource != "" {
		q.Set("resource", resource)
	}
	b := &Browser{Client: c, Issuer: issuer, GitHub: githubURL}
	leg, err := b.Authorize(issuer + "/authorize?" + q.Encode())
	if err != nil {
		return nil, err
	}
	if leg.State != state || leg.Code == "" {
		return nil, fmt.Errorf("callback: no code or wrong state in %s", leg.Final.Redacted())
	}
	return redeem(c, issuer, clientID, leg.Code, verifier)
}

// register registers a public client and returns its id.
func register(c *http.Client, issuer string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, issuer+"/register", bytes.NewReader(RegistrationBody("login")))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	r, err := Send(c, req)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &reg) != nil || reg.ClientID == "" {
		return "", fmt.Errorf("register: want 201 with a client_id, got %s", r)
	}
	return reg.ClientID, nil
}

// redeem exchanges the code at the token endpoint.
func redeem(c *http.Client, issuer, clientID, code, verifier string) (*Tokens, error) {
	r, err := Send(c, formPost(issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {RedirectURI}, "code_verifier": {verifier}, "client_id": {clientID}}))
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &tok) != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		return nil, fmt.Errorf("token: want 200 with access_token and refresh_token, got %s", r)
	}
	return &Tokens{ClientID: clientID, Access: tok.AccessToken, Refresh: tok.RefreshToken}, nil
}

func formPost(target string, form url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader([]byte(form.Encode())))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// randomState is 128 random bits, base64url: an OAuth state value.
func randomState() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
