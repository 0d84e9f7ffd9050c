package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func newEntry(clientID string, expires time.Time) *cimd.Entry {
	return &cimd.Entry{Fetched: time.Now(), Expires: expires, Document: &cimd.Document{
		ClientID: clientID, ClientName: "Doc App", RedirectURIs: []string{"http://127.0.0.1/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		TokenEndpointAuthMethod: "none",
	}}
}

// testDocuments: fetched client metadata documents are kept until they
// expire, replaced by a newer fetch, and keyed by the whole client_id URL
// (up to cimd.MaxClientIDLength), so instances on one store share them.
func testDocuments(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	st := newStore(t)
	s, ok := st.(oauthcore.DocumentStore)
	if !ok {
		t.Fatalf("%T does not keep client metadata documents (oauthcore.DocumentStore)", st)
	}
	ctx := t.Context()
	id := "https://app.example.com/" + newSecret(t) + ".json"
	_, err := s.GetDocument(ctx, id)
	wantErr(t, err, oauthcore.ErrNotFound)

	first := newEntry(id, inAnHour())
	must(t, s.PutDocument(ctx, id, first))
	got, err := s.GetDocument(ctx, id)
	must(t, err)
	sameJSON(t, got, first)

	next := newEntry(id, inAnHour().Add(time.Minute))
	next.Document.ClientName = "Renamed"
	must(t, s.PutDocument(ctx, id, next))
	got, err = s.GetDocument(ctx, id)
	must(t, err)
	sameJSON(t, got, next)

	_, err = s.GetDocument(ctx, id+"?other")
	wantErr(t, err, oauthcore.ErrNotFound)

	long := "https://app.example.com/" + strings.Repeat("a", cimd.MaxClientIDLength-len("https://app.example.com/"))
	must(t, s.PutDocument(ctx, long, newEntry(long, inAnHour())))
	got, err = s.GetDocument(ctx, long)
	must(t, err)
	if got.Document.ClientID != long {
		t.Fatalf("long client_id: got %q", got.Document.ClientID)
	}

	stale := "https://app.example.com/" + newSecret(t) + ".json"
	must(t, s.PutDocument(ctx, stale, newEntry(stale, time.Now().Add(-time.Second))))
	_, err = s.GetDocument(ctx, stale)
	wantErr(t, err, oauthcore.ErrNotFound)
}
