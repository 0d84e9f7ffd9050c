package cimd

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzClientIDURL: ValidClientIDURL never panics, and what it accepts is
// a URL net/url renders back unchanged, with the parts the draft
// requires, whose minimal document ParseDocument accepts.
func FuzzClientIDURL(f *testing.F) {
	f.Add("https://claude.ai/oauth/claude-code-client-metadata")
	f.Fuzz(func(t *testing.T, raw string) {
		if ValidClientIDURL(raw) != nil {
			return
		}
		checkRoundTrip(t, raw)
		if !IsClientIDURL(raw) {
			t.Fatalf("accepted %q, but IsClientIDURL says no", raw)
		}
		if _, err := ParseDocument(raw, []byte(docFor(raw))); err != nil {
			t.Fatalf("accepted %q, but its document: %v", raw, err)
		}
	})
}

// FuzzDocument: ParseDocument never panics; what it accepts keeps the
// Document guarantees, and a Document's own JSON (what a store keeps) is
// again a document that parses to the same value.
func FuzzDocument(f *testing.F) {
	f.Add([]byte(docFor(testID)))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDocument(testID, body)
		if err != nil {
			if KindOf(err) != KindInvalidDocument {
				t.Fatalf("error of kind %v: %v", KindOf(err), err)
			}
			return
		}
		if len(body) > MaxDocumentSize {
			t.Fatalf("accepted %d bytes", len(body))
		}
		checkDocument(t, d)
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > MaxDocumentSize {
			return
		}
		d2, err := ParseDocument(testID, out)
		if err != nil {
			t.Fatalf("own JSON %s refused: %v", out, err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("own JSON parses to %+v, not %+v", d2, d)
		}
	})
}
