package oauthcore_test

// Harness additions for the endpoints a client calls besides the flow
// (registration from an address, revocation, introspection), for the
// resource side (tokens minted for any audience, gate checks) and for the
// verifier cache (a store whose revocation announcements the test
// delivers). See harness_test.go for the harness itself.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// forEachMethod runs fn in a parallel subtest for each token endpoint
// authentication method a client may register, with h bound to it.
func (h *harness) forEachMethod(t *testing.T, fn func(t *testing.T, h *harness, method string)) {
	for _, method := range []string{authBasic, authPost, authPublic} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			fn(t, h.sub(t), method)
		})
	}
}

// fromAddr makes req come from the client address ip, as the embedding
// server resolved it (Caddy's client_ip).
func fromAddr(req *http.Request, ip string) *http.Request {
	return req.WithContext(oauthcore.WithClientIP(req.Context(), ip))
}

// registerFrom posts a registration from the client address ip.
func (h *harness) registerFrom(ip string, meta any) *reply {
	return h.serve(fromAddr(request(http.MethodPost, "/register", meta), ip))
}

// manageAs sends an RFC 7592 request for client id with the raw
// Authorization header authz ("" for none) from the address ip ("" for
// the recorder's default).
func (h *harness) manageAs(method, id, authz, ip string, body any) *reply {
	req := request(method, "/register/"+id, body)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if ip != "" {
		req = fromAddr(req, ip)
	}
	return h.serve(req)
}

// rawRequest is a request to path on the issuer with body sent as it is,
// as ctype ("" for no Content-Type).
func rawRequest(method, path, ctype, body string) *http.Request {
	req := httptest.NewRequest(method, asIssuer+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}

// dump is everything the memstore holds, as JSON.
func (h *harness) dump() string {
	h.t.Helper()
	raw, err := h.Store.Dump()
	if err != nil {
		h.t.Fatal(err)
	}
	return string(raw)
}

// clientCount is how many clients the memstore holds.
func (h *harness) clientCount() int {
	h.t.Helper()
	var d struct {
		Clients map[string]json.RawMessage `json:"clients"`
	}
	if err := json.Unmarshal([]byte(h.dump()), &d); err != nil {
		h.t.Fatal(err)
	}
	return len(d.Clients)
}

// revoke posts an RFC 7009 revocation of token as c.
func (h *harness) revoke(c *testClient, token string) *reply {
	return h.call(c, "/revoke", url.Values{"token": {token}})
}

// introspect posts an RFC 7662 introspection of token as c.
func (h *harness) introspect(c *testClient, token string) *reply {
	return h.call(c, "/introspect", url.Values{"token": {token}})
}

// active reports whether introspection by c says token is active, failing
// the test unless introspection answers 200.
func (h *harness) active(c *testClient, token string) bool {
	h.t.Helper()
	r := h.introspect(c, token)
	if r.Status != http.StatusOK {
		h.t.Fatalf("introspect: %s", r)
	}
	return r.json(h.t)["active"] == true
}

// wantJSONNoStore checks a successful JSON answer that must not be cached
// (RFC 6749 §5.1, RFC 7591 §3.2.1; MD-05).
func wantJSONNoStore(t testing.TB, what string, r *reply) {
	t.Helper()
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Errorf("MD-05 %s: Content-Type %q Cache-Control %q Pragma %q, want JSON, no-store, no-cache", what,
			r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
	}
}

// wantRetryAfter checks a 429 slow_down answer and returns its Retry-After
// in seconds.
func wantRetryAfter(t testing.TB, what string, r *reply) int {
	t.Helper()
	wantOAuthError(t, what, r, http.StatusTooManyRequests, string(oauthcore.CodeSlowDown))
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("%s: Retry-After %q, want a positive number of seconds", what, r.Header.Get("Retry-After"))
	}
	return secs
}

// mintSeq makes every minted grant and token id unique.
var mintSeq atomic.Int64

// mint signs an access token for a fresh live grant of clientID, issued
// now on the harness clock for an hour, with audience aud; mutate may
// change the claims before signing.
func (h *harness) mint(clientID, aud string, mutate func(*oauthcore.Claims)) (string, *oauthcore.Claims) {
	h.t.Helper()
	now := h.clock.Now()
	n := strconv.FormatInt(mintSeq.Add(1), 10)
	g := &oauthcore.Grant{ID: "grant-minted-" + n, ClientID: clientID, User: oauthcore.User{ID: "1001", Login: "alice"},
		Scope: "mcp", CreatedAt: now, LastUsed: now, ExpiresAt: now.Add(24 * time.Hour),
		RefreshHash: oauthcore.HashSecret("minted-refresh-" + n), Version: 1}
	if err := h.Store.CreateGrant(h.t.Context(), g); err != nil {
		h.t.Fatal(err)
	}
	c := &oauthcore.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: h.Server.Config().Issuer, Subject: "1001",
			Audience: jwt.ClaimStrings{aud}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			IssuedAt: jwt.NewNumericDate(now), ID: "jti-minted-" + n},
		ClientID: clientID, Scope: "mcp", Username: "alice", Email: "alice@example.test", GrantID: g.ID,
	}
	if mutate != nil {
		mutate(c)
	}
	raw, err := h.Server.Tokens().Sign(c)
	if err != nil {
		h.t.Fatal(err)
	}
	return raw, c
}

// gateCheck runs g.Check for a request to path on the gate's origin with
// the raw Authorization header authz ("" for none) and returns the answer
// (200 with no body when the gate let the request through) and the claims.
func (h *harness) gateCheck(g *oauthcore.Gate, authz, path string) (*reply, *oauthcore.Claims) {
	origin, _ := oauthcore.SplitResource(g.Resource)
	req := httptest.NewRequest(http.MethodPost, origin+"/", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	c, err := g.Check(w, req, h.Server.Verifier(), path)
	r := recorded(w)
	if (err == nil) != (c != nil) || (err == nil && r.Status != http.StatusOK) {
		h.t.Errorf("Gate.Check %s: claims %v, err %v, answer %s", path, c != nil, err, r)
	}
	return r, c
}

// faultStore methods beyond the harness's (faults_test.go): the ones
// registration, management and revocation write through.

func (f *faultStore) CreateClient(ctx context.Context, c *oauthcore.Client) error {
	if f.down("CreateClient") {
		return errStoreOutage
	}
	return f.Store.CreateClient(ctx, c)
}

func (f *faultStore) UpdateClient(ctx context.Context, c *oauthcore.Client) error {
	if f.down("UpdateClient") {
		return errStoreOutage
	}
	return f.Store.UpdateClient(ctx, c)
}

func (f *faultStore) DeleteClient(ctx context.Context, id string) error {
	if f.down("DeleteClient") {
		return errStoreOutage
	}
	return f.Store.DeleteClient(ctx, id)
}

func (f *faultStore) RevokeToken(ctx context.Context, jti string, end time.Time) error {
	if f.down("RevokeToken") {
		return errStoreOutage
	}
	return f.Store.RevokeToken(ctx, jti, end)
}

// quietStore keeps the store's revocation announcements from the server:
// the test delivers them (announce), or not, so the verifier's cache can be
// observed. Setting dead makes it report its announcements as lost
// (oauthcore.NotifierHealth); midCheck, when set, runs inside every
// TokenRevoked call (an announcement arriving while a token is checked).
type quietStore struct {
	oauthcore.Store
	mu       sync.Mutex
	next     int
	subs     map[int]func(kind, id string)
	dead     atomic.Bool
	midCheck atomic.Pointer[func()]
}

// newQuietHarness is a harness over a quietStore.
func newQuietHarness(t testing.TB) (*harness, *quietStore) {
	var qs *quietStore
	h := newHarness(t, func(o *harnessOptions) {
		o.WrapStore = func(s oauthcore.Store) oauthcore.Store {
			qs = &quietStore{Store: s, subs: map[int]func(kind, id string){}}
			return qs
		}
	})
	return h, qs
}

func (q *quietStore) Subscribe(fn func(kind, id string)) func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := q.next
	q.next++
	q.subs[id] = fn
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.subs, id)
	}
}

// subscribers is how many subscriptions are open.
func (q *quietStore) subscribers() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.subs)
}

// announce delivers one announcement to every subscriber.
func (q *quietStore) announce(kind, id string) {
	q.mu.Lock()
	subs := make([]func(kind, id string), 0, len(q.subs))
	for _, fn := range q.subs {
		subs = append(subs, fn)
	}
	q.mu.Unlock()
	for _, fn := range subs {
		fn(kind, id)
	}
}

func (q *quietStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if fn := q.midCheck.Load(); fn != nil {
		(*fn)()
	}
	return q.Store.TokenRevoked(ctx, jti)
}

func (q *quietStore) NotifierLive() bool { return !q.dead.Load() }

// recorded is the answer a handler wrote to w, for calls that bypass
// Server.ServeHTTP (Gate.Check, Gate.ServeMetadata); a gate that let the
// request through wrote nothing, which reads as 200.
func recorded(w *httptest.ResponseRecorder) *reply {
	return &reply{Status: w.Code, Header: w.Result().Header, Body: w.Body.String()}
}
