package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestGolangOAuth2Client_PK01_RT02_MD02 drives the flow with
// golang.org/x/oauth2 as the client, in each token endpoint auth style:
// AuthCodeURL with an S256 challenge, Exchange with the verifier, and a
// refresh through TokenSource.
func TestGolangOAuth2Client_PK01_RT02_MD02(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	md := e.get(e.api, "/.well-known/oauth-authorization-server").json(t)
	hc := &http.Client{Transport: e.tr, Timeout: 30 * time.Second}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

	for _, tc := range []struct {
		method string
		style  oauth2.AuthStyle
	}{{basic, oauth2.AuthStyleInHeader}, {post, oauth2.AuthStyleInParams}, {public, oauth2.AuthStyleInParams}} {
		t.Run(tc.method, func(t *testing.T) {
			c := e.newClient(tc.method, "http://127.0.0.1:8976/callback")
			conf := &oauth2.Config{
				ClientID: c.ID, ClientSecret: c.Secret,
				Endpoint: oauth2.Endpoint{AuthURL: md["authorization_endpoint"].(string),
					TokenURL: md["token_endpoint"].(string), AuthStyle: tc.style},
				RedirectURL: "http://127.0.0.1:51234/callback", // loopback: any port (RFC 8252 §7.3)
				Scopes:      []string{"mcp"},
			}
			verifier := oauth2.GenerateVerifier()
			state := randomState()
			f := &flow{Req: &authReq{Verifier: verifier}}
			e.newBrowser().run(f, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
			if f.State != state || f.Iss != md["issuer"] || f.Code == "" || f.Final.Port() != "51234" {
				t.Fatalf("authorization response %v", f.Final)
			}

			tok, err := conf.Exchange(ctx, f.Code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			e.remember(tok.AccessToken, tok.RefreshToken)
			if tok.RefreshToken == "" || tok.Type() != "Bearer" || time.Until(tok.Expiry) < time.Minute || tok.Extra("scope") != "mcp" {
				t.Errorf("token %+v, scope %v", tok, tok.Extra("scope"))
			}

			old := *tok
			tok.Expiry = time.Now().Add(-time.Minute) // force a refresh
			fresh, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			e.remember(fresh.AccessToken, fresh.RefreshToken)
			if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == old.RefreshToken {
				t.Error("RT-02: TokenSource did not get a rotated token pair")
			}
			// Last, because a replayed code revokes its grant (AC-04).
			if _, err := conf.Exchange(ctx, f.Code, oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
				t.Errorf("replayed Exchange: %v, want invalid_grant", err)
			}
		})
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
