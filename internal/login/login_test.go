package login

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseConsent(t *testing.T) {
	t.Parallel()
	page := `<form method="post" action="/consent">` +
		`<input type="hidden" name="flow" value="f&amp;1">` +
		`<input type="hidden" name="csrf" value="c2">`
	for _, tc := range []struct {
		name    string
		reply   Reply
		want    Consent
		wantErr string
	}{
		{"the page", Reply{Status: 200, Body: page}, Consent{Flow: "f&1", CSRF: "c2"}, ""},
		{"an error page", Reply{Status: 400, Body: page}, Consent{}, "want the consent page"},
		{"no form", Reply{Status: 200, Body: "<p>hello</p>"}, Consent{}, "want the consent page"},
		{"no csrf", Reply{Status: 200, Body: `action="/consent" <input type="hidden" name="flow" value="f">`}, Consent{}, "without flow or csrf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseConsent(&tc.reply)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}

func TestConsentRequestIsChromiumsPost(t *testing.T) {
	t.Parallel()
	req := ConsentRequest("https://auth.test", Consent{Flow: "f", CSRF: "c"}, "deny")
	if req.Method != http.MethodPost || req.URL.String() != "https://auth.test/consent" {
		t.Fatalf("%s %s", req.Method, req.URL)
	}
	if req.Header.Get("Origin") != "null" || req.Header.Get("Sec-Fetch-Site") != "same-origin" {
		t.Errorf("headers %v", req.Header)
	}
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if req.PostForm.Get("flow") != "f" || req.PostForm.Get("csrf") != "c" || req.PostForm.Get("action") != "deny" {
		t.Errorf("form %v", req.PostForm)
	}
}

func TestRedirect(t *testing.T) {
	t.Parallel()
	r := &Reply{Status: http.StatusSeeOther, Header: http.Header{"Location": {"https://gh.test/x?a=1"}}}
	if u, err := r.Redirect(); err != nil || u.Query().Get("a") != "1" {
		t.Errorf("303: %v %v", u, err)
	}
	if _, err := (&Reply{Status: 200, Body: "page"}).Redirect(); err == nil {
		t.Error("a 200 is taken for a redirect")
	}
}
