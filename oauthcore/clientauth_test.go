package oauthcore

import (
	"encoding/base64"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestReadCredentials(t *testing.T) {
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	tests := []struct {
		name, header string
		form         url.Values
		want         credentials
		ok           bool
	}{
		{"basic", basic("c1", "s3"), nil, credentials{"c1", "s3", AuthBasic}, true},
		{"basic lowercase scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("c1:s3")), nil, credentials{"c1", "s3", AuthBasic}, true},
		{"form-encoded colon in secret", basic("c1", "a%3Ab"), nil, credentials{"c1", "a:b", AuthBasic}, true},
		{"malformed base64", "Basic !!!", nil, credentials{}, false},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("c1")), nil, credentials{}, false},
		{"bearer is not client auth", "Bearer x", nil, credentials{}, false},
		{"basic plus form secret", basic("c1", "s3"), url.Values{"client_secret": {"s3"}}, credentials{}, false},
		{"basic with other form client_id", basic("c1", "s3"), url.Values{"client_id": {"c2"}}, credentials{}, false},
		{"post", "", url.Values{"client_id": {"c1"}, "client_secret": {"s3"}}, credentials{"c1", "s3", AuthPost}, true},
		{"public", "", url.Values{"client_id": {"c1"}}, credentials{"c1", "", AuthNone}, true},
		{"nothing", "", url.Values{}, credentials{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, err := readCredentials(r, params(tt.form))
			if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
				t.Errorf("readCredentials = %+v, %v; want %+v ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}
