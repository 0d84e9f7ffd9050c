package benchkit

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

// Tokens is what a login yields.
type Tokens struct {
	ClientID string // the public client registered for the login
	Access   string
	Refresh  string
}

// RedirectURI is the loopback redirect URI of the clients the benchmarks
// register.
const RedirectURI = "http://127.0.0.1:33418/callback"

// Login runs the whole login as an MCP client and its user would:
// register a public client, authorize with PKCE for resource (none when
// empty: the token's audience is then the issuer), approve the
// consent page, pass the (fake) GitHub at ghURL, follow the callback, and
// redeem the code.
func Login(issuer, ghURL, resource string) (*Tokens, error) {
	b := newBrowser()
	defer b.c.CloseIdleConnections()
	const redirect = RedirectURI

	meta := RegistrationBody("bench login")
	req, _ := http.NewRequest(http.MethodPost, issuer+"/register", bytes.NewReader(meta))
	req.Header.Set("Content-Type", "application/json")
	r, err := b.do(req)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if r.status != http.StatusCreated {
		return nil, fmt.Errorf("register: %s", r)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(r.body), &reg); err != nil || reg.ClientID == "" {
		return nil, fmt.Errorf("register: no client_id in %s", r)
	}

	verifier := NewSecret(32)
	sum := sha256.Sum256([]byte(verifier))
	state := NewSecret(16)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {reg.ClientID},
		"redirect_uri":          {redirect},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"state":                 {state},
	}
	if resource != "" {
		q.Set("resource", resource)
	}
	r, err = b.get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/consent"`) {
		return nil, fmt.Errorf("authorize: want the consent page, got %s", r)
	}
	form := url.Values{"action": {"approve"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(r.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("flow") == "" || form.Get("csrf") == "" {
		return nil, fmt.Errorf("consent page without flow or csrf inputs")
	}
	// As a browser posts our referrer-less page: Origin null, same-origin.
	r, err = b.postForm(issuer+"/consent", form, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	ghAuth, err := r.location()
	if err != nil || !strings.HasPrefix(ghAuth.String(), ghURL+"/login/oauth/authorize?") {
		return nil, fmt.Errorf("consent: want a redirect to GitHub, got %s", r)
	}
	r, err = b.get(ghAuth.String())
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	cb, err := r.location()
	if err != nil || !strings.HasPrefix(cb.String(), issuer+"/callback?") {
		return nil, fmt.Errorf("github: want a redirect to /callback, got %s", r)
	}
	r, err = b.get(cb.String())
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	final, err := r.location()
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	fq := final.Query()
	if fq.Get("state") != state || fq.Get("code") == "" {
		return nil, fmt.Errorf("callback: no code or wrong state in %s", final.Redacted())
	}

	r, err = b.postForm(issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {fq.Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {reg.ClientID}}, nil)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("token: %s", r)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		return nil, fmt.Errorf("token: no access_token or refresh_token in the response")
	}
	return &Tokens{ClientID: reg.ClientID, Access: tok.AccessToken, Refresh: tok.RefreshToken}, nil
}

// RegistrationBody is the RFC 7591 request of a public client with one
// loopback redirect URI.
func RegistrationBody(name string) []byte {
	b, _ := json.Marshal(map[string]any{"redirect_uris": []string{RedirectURI},
		"token_endpoint_auth_method": "none", "client_name": name})
	return b
}

// JWTAlg reads the alg of a JWT's header, to prove which keys signed it.
func JWTAlg(token string) string {
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
