package cimd

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const testID = "https://app.example.com/client.json"

func TestParseDocument(t *testing.T) {
	t.Parallel()
	const base = `"client_id":"` + testID + `","client_name":"App","redirect_uris":["http://localhost/cb"]`
	tests := []struct {
		name   string
		body   string
		reason string // substring of the error's Reason; "" means accepted
	}{
		{"minimal", `{` + base + `}`, ""},
		{"none", `{` + base + `,"token_endpoint_auth_method":"none"}`, ""},
		{"unknown members ignored", `{` + base + `,"x":{"y":[1,2,{"z":null}]},"application_type":"native","jwks_uri":"https://app.example.com/jwks"}`, ""},
		{"escaped client_id", `{"client_id":"https:\/\/app.example.com\/client.json","client_name":"App","redirect_uris":["cursor://cb"]}`, ""},
		{"nulls are absent", `{` + base + `,"logo_uri":null,"grant_types":null,"client_secret":null,"jwks":null}`, ""},
		{"public jwks", `{` + base + `,"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}}`, ""},
		{"extra grant and response types dropped", `{` + base + `,"grant_types":["authorization_code","urn:ietf:params:oauth:grant-type:device_code"],"response_types":["code","token"]}`, ""},
		{"whitespace", " \n{" + base + "}\n ", ""},

		{"empty", ``, "not a JSON object"},
		{"array", `[` + base + `]`, "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"truncated", `{` + base, "not valid JSON"},
		{"trailing data", `{` + base + `} {}`, "data after"},
		{"trailing garbage", `{` + base + `}x`, "data after"},
		{"missing client_id", `{"client_name":"App","redirect_uris":["http://localhost/cb"]}`, "client_id is required"},
		{"other client_id", `{"client_id":"https://evil.example/client.json","client_name":"App","redirect_uris":["http://localhost/cb"]}`, "does not match"},
		{"client_id with port", `{"client_id":"https://app.example.com:443/client.json","client_name":"App","redirect_uris":["http://localhost/cb"]}`, "does not match"},
		{"client_id trailing slash", `{"client_id":"` + testID + `/","client_name":"App","redirect_uris":["http://localhost/cb"]}`, "does not match"},
		{"client_id case", `{"client_id":"https://App.example.com/client.json","client_name":"App","redirect_uris":["http://localhost/cb"]}`, "does not match"},
		{"client_id number", `{"client_id":1,"client_name":"App","redirect_uris":["x:y"]}`, "client_id has the wrong type"},
		{"duplicate client_id", `{` + base + `,"client_id":"https://evil.example/c"}`, "appears twice"},
		{"case-folded member is unknown", `{"Client_ID":"` + testID + `","client_name":"App","redirect_uris":["x:y"]}`, "client_id is required"},
		{"missing client_name", `{"client_id":"` + testID + `","redirect_uris":["http://localhost/cb"]}`, "client_name is required"},
		{"blank client_name", `{"client_id":"` + testID + `","client_name":"  ","redirect_uris":["http://localhost/cb"]}`, "client_name is required"},
		{"control in client_name", `{"client_id":"` + testID + `","client_name":"A\u0007pp","redirect_uris":["http://localhost/cb"]}`, "control characters"},
		{"missing redirect_uris", `{"client_id":"` + testID + `","client_name":"App"}`, "redirect_uris is required"},
		{"empty redirect_uris", `{"client_id":"` + testID + `","client_name":"App","redirect_uris":[]}`, "redirect_uris is required"},
		{"redirect_uris string", `{"client_id":"` + testID + `","client_name":"App","redirect_uris":"http://localhost/cb"}`, "redirect_uris has the wrong type"},
		{"redirect_uri null entry", `{"client_id":"` + testID + `","client_name":"App","redirect_uris":[null]}`, "empty"},
		{"redirect_uri relative", `{"client_id":"` + testID + `","client_name":"App","redirect_uris":["/cb"]}`, "absolute"},
		{"redirect_uri fragment", `{"client_id":"` + testID + `","client_name":"App","redirect_uris":["https://a.example/cb#x"]}`, "fragment"},
		{"redirect_uri space", `{"client_id":"` + testID + `","client_name":"App","redirect_uris":["https://a.example/c b"]}`, "whitespace"},
		{"client_secret_basic", `{` + base + `,"token_endpoint_auth_method":"client_secret_basic"}`, "needs a shared secret"},
		{"client_secret_post", `{` + base + `,"token_endpoint_auth_method":"client_secret_post"}`, "needs a shared secret"},
		{"client_secret_jwt", `{` + base + `,"token_endpoint_auth_method":"client_secret_jwt"}`, "needs a shared secret"},
		{"private_key_jwt", `{` + base + `,"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://app.example.com/jwks"}`, "not supported yet"},
		{"tls_client_auth", `{` + base + `,"token_endpoint_auth_method":"tls_client_auth"}`, "is not supported"},
		{"client_secret", `{` + base + `,"client_secret":"s3cret"}`, "client_secret"},
		{"client_secret_expires_at", `{` + base + `,"client_secret_expires_at":0}`, "client_secret"},
		{"private jwk", `{` + base + `,"jwks":{"keys":[{"kty":"EC","d":"secret"}]}}`, "private key"},
		{"symmetric jwk", `{` + base + `,"jwks":{"keys":[{"kty":"oct","k":"secret"}]}}`, "private key"},
		{"malformed jwks", `{` + base + `,"jwks":"x"}`, "private key"},
		{"grant_types without code", `{` + base + `,"grant_types":["refresh_token"]}`, "authorization_code"},
		{"grant_types empty", `{` + base + `,"grant_types":[]}`, "authorization_code"},
		{"grant_types implicit only", `{` + base + `,"grant_types":["implicit"]}`, "authorization_code"},
		{"response_types token", `{` + base + `,"response_types":["token"]}`, `"code"`},
		{"logo_uri object", `{` + base + `,"logo_uri":{}}`, "logo_uri has the wrong type"},
		{"too large", `{` + base + `,"x":"` + strings.Repeat("a", MaxDocumentSize) + `"}`, "larger than 5 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := ParseDocument(testID, []byte(tt.body))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("ParseDocument: %v", err)
				}
				checkDocument(t, doc)
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error about %q", tt.reason)
			}
			e, ok := err.(*Error)
			if !ok || e.Kind != KindInvalidDocument || !strings.Contains(e.Reason, tt.reason) {
				t.Fatalf("error %v, want invalid_document about %q", err, tt.reason)
			}
		})
	}
}

// checkDocument holds what every accepted document guarantees.
func checkDocument(t *testing.T, d *Document) {
	t.Helper()
	if d.ClientID != testID || d.ClientName == "" || len(d.RedirectURIs) == 0 {
		t.Fatalf("document %+v", d)
	}
	if d.TokenEndpointAuthMethod != "none" || !slices.Equal(d.ResponseTypes, []string{"code"}) || d.GrantTypes[0] != "authorization_code" {
		t.Fatalf("capabilities %+v", d)
	}
}

func TestParseDocumentFields(t *testing.T) {
	t.Parallel()
	body := `{"client_id":"` + testID + `","client_name":"Claude Code","redirect_uris":["http://localhost/callback","http://127.0.0.1/callback"],
		"grant_types":["authorization_code"],"scope":"mcp","client_uri":"https://app.example.com","logo_uri":"https://10.0.0.1/logo.png",
		"policy_uri":"javascript:alert(1)","tos_uri":"t","software_id":"sid","software_version":"1.2"}`
	d, err := ParseDocument(testID, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Document{
		ClientID: testID, ClientName: "Claude Code",
		RedirectURIs: []string{"http://localhost/callback", "http://127.0.0.1/callback"},
		GrantTypes:   []string{"authorization_code"}, ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none",
		Scope: "mcp", ClientURI: "https://app.example.com", LogoURI: "https://10.0.0.1/logo.png",
		PolicyURI: "javascript:alert(1)", TOSURI: "t", SoftwareID: "sid", SoftwareVersion: "1.2",
	}
	if !reflect.DeepEqual(d, &want) {
		t.Fatalf("got %+v\nwant %+v", d, want)
	}
	if d.AllowsRefresh() {
		t.Error("AllowsRefresh without refresh_token listed")
	}
	if d.Host() != "app.example.com" {
		t.Errorf("Host = %q", d.Host())
	}
	d2, _ := ParseDocument("https://[::1]:8443/c", []byte(`{"client_id":"https://[::1]:8443/c","client_name":"x","redirect_uris":["x:y"]}`))
	if d2.Host() != "[::1]:8443" || !d2.AllowsRefresh() {
		t.Errorf("Host = %q, AllowsRefresh = %v", d2.Host(), d2.AllowsRefresh())
	}
}

func TestParseDocumentRefusesInvalidClientID(t *testing.T) {
	t.Parallel()
	_, err := ParseDocument("https://example.com/../c", []byte(`{"client_id":"https://example.com/../c","client_name":"x","redirect_uris":["x:y"]}`))
	if KindOf(err) != KindInvalidURL {
		t.Fatalf("err = %v", err)
	}
}
