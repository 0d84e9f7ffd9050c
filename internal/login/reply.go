package login

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"
)

// Reply is a fully read HTTP response. The e2e tests convert it to their
// own response type, which has the same fields.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// Send sends req with c and reads the whole answer.
func Send(c *http.Client, req *http.Request) (*Reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, nil
}

// get sends a GET of u with c.
func get(c *http.Client, u string) (*Reply, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return Send(c, req)
}

// Redirect is the target of a 3xx reply, an error for any other.
func (r *Reply) Redirect() (*url.URL, error) {
	if r.Status < 300 || r.Status > 399 {
		return nil, fmt.Errorf("want a redirect, got %s", r)
	}
	return url.Parse(r.Header.Get("Location"))
}

// String is the status and the start of the body, for error messages.
func (r *Reply) String() string {
	body := r.Body
	if len(body) > 400 {
		body = body[:400] + "..."
	}
	return fmt.Sprintf("%d %s", r.Status, body)
}

// NewBrowser is an HTTP client as the login needs one: a cookie jar (the
// consent approval and the flow live in cookies) and no redirect
// followed, so every hop can be checked.
func NewBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
