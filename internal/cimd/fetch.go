package cimd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
)

// newHTTPClient builds the one client every fetch uses: base's TLS
// settings, the guard as the only way to a socket, no proxy, and no
// redirects (the draft §5: MUST NOT follow them; a 3xx is an error).
func newHTTPClient(base *http.Transport, g *guard) *http.Client {
	if base == nil {
		base, _ = http.DefaultTransport.(*http.Transport)
	}
	t := &http.Transport{ForceAttemptHTTP2: true}
	if base != nil {
		t = base.Clone()
	}
	t.Proxy = nil
	t.DialContext = g.DialContext
	t.DialTLSContext = nil
	t.MaxResponseHeaderBytes = 16 << 10
	t.MaxIdleConns = 16
	t.MaxIdleConnsPerHost = 2
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// fetch GETs clientID within the timeout and returns the validated entry.
func (r *Resolver) fetch(ctx context.Context, clientID string) (*Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	// ValidClientIDURL accepts only URLs that net/url renders back
	// unchanged: what is fetched is the client_id, byte for byte.
	if err != nil || req.URL.String() != clientID {
		return nil, invalidURL("cannot be fetched as written")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	if err := checkStatus(resp); err != nil {
		return nil, err
	}
	if resp.ContentLength > MaxDocumentSize {
		return nil, invalidDoc("larger than 5 KiB")
	}
	body, err := readBody(resp.Body)
	if ctx.Err() != nil {
		// The deadline passed while the body was read: a timeout, whatever
		// the read reported (a chunked body cut short says unexpected EOF).
		return nil, transportError(ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	doc, err := ParseDocument(clientID, body)
	if err != nil {
		return nil, err
	}
	if err := r.checkRedirectURIs(doc); err != nil {
		return nil, err
	}
	now := r.cfg.Now()
	return &Entry{Document: doc, Fetched: now, Expires: now.Add(Lifetime(resp.Header, now, r.cfg.CacheMax))}, nil
}

func checkStatus(resp *http.Response) error {
	code := resp.StatusCode
	switch {
	case code == http.StatusOK:
		return nil
	case code >= 300 && code < 400:
		e := newError(KindFetch, "the client metadata document server answered "+strconv.Itoa(code)+" (a redirect, which is not followed)", nil)
		e.HTTPStatus = code
		return e
	}
	e := newError(KindFetch, "the client metadata document server answered "+strconv.Itoa(code)+", not 200", nil)
	e.HTTPStatus = code
	return e
}

// readBody reads at most MaxDocumentSize bytes; one more means too large.
// Only a clean end of the body counts: a body cut short (the connection
// dropped, the deadline passed mid-read, which net/http reports as
// io.ErrUnexpectedEOF for a chunked body) is an error, never a shorter
// document.
func readBody(body io.Reader) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(body, MaxDocumentSize+1))
	if err != nil {
		return nil, transportError(err)
	}
	if len(buf) > MaxDocumentSize {
		return nil, invalidDoc("larger than 5 KiB")
	}
	return buf, nil
}

// transportError sorts a failed request into our own refusal (passed
// through), a timeout, or a fetch failure.
func transportError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return newError(KindTimeout, "the client metadata document server did not answer in time", err)
	}
	return newError(KindFetch, "the client metadata document could not be fetched", err)
}

func (r *Resolver) checkRedirectURIs(doc *Document) error {
	if r.cfg.CheckRedirectURI == nil {
		return nil
	}
	for _, u := range doc.RedirectURIs {
		if err := r.cfg.CheckRedirectURI(u); err != nil {
			return invalidDoc("redirect_uris: " + err.Error())
		}
	}
	return nil
}
