package storetest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

const (
	// ttl is the life of records made to expire: long enough to be written
	// on a loaded machine, short enough to keep the suite fast. Tests never
	// assert a short-lived record is still live, only that it is gone after.
	ttl = 200 * time.Millisecond
	// racers is how many goroutines contend in the atomicity tests, the
	// number the checklist's black-box tests use (AC-03).
	racers = 50
)

func inAnHour() time.Time { return time.Now().Add(time.Hour) }
func soon() time.Time     { return time.Now().Add(ttl) }

// waitPast sleeps until end has passed with a margin for the store's clock.
func waitPast(end time.Time) { time.Sleep(time.Until(end) + 50*time.Millisecond) }

// newSecret returns 256 random bits, as the server's secrets and ids are.
func newSecret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newHash is the key of a record whose plain secret the test does not need.
func newHash(t *testing.T) string { return oauthcore.HashSecret(newSecret(t)) }

func newClient(t *testing.T, expiresAt time.Time) *oauthcore.Client {
	return &oauthcore.Client{
		ID:                    newSecret(t),
		SecretHash:            newHash(t),
		RegistrationTokenHash: newHash(t),
		IssuedAt:              time.Now(),
		ExpiresAt:             expiresAt,
		Metadata: oauthcore.Metadata{
			RedirectURIs:            []string{"http://127.0.0.1:8765/callback"},
			ClientName:              "storetest client",
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: oauthcore.AuthBasic,
		},
		Version: 1,
	}
}

func newRequest(t *testing.T, clientID string) oauthcore.Request {
	return oauthcore.Request{
		ClientID: clientID, ClientVersion: 1,
		RedirectURI: "http://127.0.0.1:8765/callback", RedirectGiven: true,
		State: newSecret(t), Scope: "mcp", Resource: "https://mcp.example/mcp",
		Challenge: newSecret(t),
	}
}

func newFlow(t *testing.T, expiresAt time.Time) *oauthcore.Flow {
	return &oauthcore.Flow{Request: newRequest(t, newSecret(t)), CSRFHash: newHash(t),
		BrowserHash: newHash(t), ExpiresAt: expiresAt}
}

func newCode(t *testing.T, expiresAt time.Time) *oauthcore.AuthCode {
	return &oauthcore.AuthCode{Request: newRequest(t, newSecret(t)), User: octocat, ExpiresAt: expiresAt}
}

var octocat = oauthcore.User{ID: "583231", Login: "octocat", Email: "octocat@example.com", Name: "The Octocat"}

func newGrant(t *testing.T, clientID string, expiresAt time.Time) *oauthcore.Grant {
	now := time.Now()
	return &oauthcore.Grant{ID: newSecret(t), ClientID: clientID, User: octocat, Scope: "mcp",
		Resource: "https://mcp.example/mcp", RedirectURI: "http://127.0.0.1:8765/callback", CreatedAt: now, ExpiresAt: expiresAt,
		RefreshHash: newHash(t), Version: 1, LastUsed: now}
}

// rotated returns the next generation of g, as a refresh writes it.
func rotated(t *testing.T, g *oauthcore.Grant) *oauthcore.Grant {
	n := *g
	n.PrevRefreshHash, n.RefreshHash = g.RefreshHash, newHash(t)
	n.RotatedAt, n.LastUsed = time.Now(), time.Now()
	n.Successor = []byte("successor sealed under the previous token")
	n.Version++
	return &n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func wantBool(t *testing.T, what string, got bool, err error, want bool) {
	t.Helper()
	must(t, err)
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// sameJSON compares records as stored: through their JSON form, which
// ignores monotonic clock readings and time zone representation.
func sameJSON(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err)
	w, err := json.Marshal(want)
	must(t, err)
	if string(g) != string(w) {
		t.Fatalf("record differs\n got: %s\nwant: %s", g, w)
	}
}

// race runs fn from n goroutines released at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and every other one is
// loser, and returns the winner's index.
func oneWinner(t *testing.T, errs []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("callers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loser):
			t.Fatalf("caller %d: got error %v, want %v", i, err, loser)
		}
	}
	if winner < 0 {
		t.Fatalf("no caller of %d succeeded", len(errs))
	}
	return winner
}
