package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// browser is a user agent that does not follow redirects, so every hop of
// the login can be checked.
type browser struct {
	c *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r *reply) String() string {
	body := r.body
	if len(body) > 400 {
		body = body[:400] + "..."
	}
	return fmt.Sprintf("%d %s", r.status, body)
}

func (b *browser) do(req *http.Request) (*reply, error) {
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: string(body)}, nil
}

func (b *browser) get(u string) (*reply, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

func (b *browser) postForm(u string, form url.Values, hdr map[string]string) (*reply, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// location is the redirect target of a 3xx reply.
func (r *reply) location() (*url.URL, error) {
	if r.status < 300 || r.status > 399 {
		return nil, fmt.Errorf("want a redirect, got %s", r)
	}
	return url.Parse(r.header.Get("Location"))
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(flow|csrf)" value="([^"]*)">`)

// obtainToken runs the whole login as an MCP client and its user would:
// register a public client, authorize with PKCE for resource, approve the
// consent page, pass the (fake) GitHub, follow the callback, and redeem
// the code. It returns the access token.
func obtainToken(issuer, ghURL, resource string) (string, error) {
	b := newBrowser()
	defer b.c.CloseIdleConnections()
	const redirect = "http://127.0.0.1:33418/callback"

	meta, _ := json.Marshal(map[string]any{"redirect_uris": []string{redirect},
		"token_endpoint_auth_method": "none", "client_name": "gatebench"})
	req, _ := http.NewRequest(http.MethodPost, issuer+"/register", bytes.NewReader(meta))
	req.Header.Set("Content-Type", "application/json")
	r, err := b.do(req)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if r.status != http.StatusCreated {
		return "", fmt.Errorf("register: %s", r)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(r.body), &reg); err != nil || reg.ClientID == "" {
		return "", fmt.Errorf("register: no client_id in %s", r)
	}

	verifier := newSecret(32)
	sum := sha256.Sum256([]byte(verifier))
	state := newSecret(16)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {reg.ClientID},
		"redirect_uri":          {redirect},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"state":                 {state},
		"resource":              {resource},
	}
	r, err = b.get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		return "", fmt.Errorf("authorize: %w", err)
	}
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/consent"`) {
		return "", fmt.Errorf("authorize: want the consent page, got %s", r)
	}
	form := url.Values{"action": {"approve"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(r.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("flow") == "" || form.Get("csrf") == "" {
		return "", fmt.Errorf("consent page without flow or csrf inputs")
	}
	// As a browser posts our referrer-less page: Origin null, same-origin.
	r, err = b.postForm(issuer+"/consent", form, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if err != nil {
		return "", fmt.Errorf("consent: %w", err)
	}
	ghAuth, err := r.location()
	if err != nil || !strings.HasPrefix(ghAuth.String(), ghURL+"/login/oauth/authorize?") {
		return "", fmt.Errorf("consent: want a redirect to GitHub, got %s", r)
	}
	r, err = b.get(ghAuth.String())
	if err != nil {
		return "", fmt.Errorf("github: %w", err)
	}
	cb, err := r.location()
	if err != nil || !strings.HasPrefix(cb.String(), issuer+"/callback?") {
		return "", fmt.Errorf("github: want a redirect to /callback, got %s", r)
	}
	r, err = b.get(cb.String())
	if err != nil {
		return "", fmt.Errorf("callback: %w", err)
	}
	final, err := r.location()
	if err != nil {
		return "", fmt.Errorf("callback: %w", err)
	}
	fq := final.Query()
	if fq.Get("state") != state || fq.Get("code") == "" {
		return "", fmt.Errorf("callback: no code or wrong state in %s", final.Redacted())
	}

	r, err = b.postForm(issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {fq.Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {reg.ClientID}}, nil)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if r.status != http.StatusOK {
		return "", fmt.Errorf("token: %s", r)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token: no access_token in the response")
	}
	return tok.AccessToken, nil
}

// jwtAlg reads the alg of a JWT's header, to prove which keys signed it.
func jwtAlg(token string) string {
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.Alg
}
