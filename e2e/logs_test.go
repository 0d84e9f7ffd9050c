package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNoSecretsInLogs_LG01_CD10 runs every kind of request at debug level
// (registration, consent, login, code, refresh, replay, introspection,
// revocation, RFC 7592 read and update, failures), then greps Caddy's
// whole log for every credential issued and every GitHub secret: none may
// appear. GitHub's token must not appear in any response either.
func TestNoSecretsInLogs_LG01_CD10(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Debug: true})
	c := e.newClient(basic)
	pub := e.newClient(public)
	b := e.newBrowser()
	f := b.login(c, nil)
	tok := e.exchange(c, f)
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	e.refresh(c, tok.Refresh+"x", nil)
	e.introspect(c, next.Access)
	e.revoke(c, next.Access)
	e.redeem(c, f, nil) // replay: logged as a warning, revokes the grant
	e.refresh(c, next.Refresh, nil)
	pf, ptok := e.fullFlow(pub)
	e.redeem(pub, pf, url.Values{"code_verifier": {"wrong"}})
	e.manage(http.MethodGet, c.ID, c.RAT, nil)
	e.manage(http.MethodGet, c.ID, c.RAT+"x", nil)
	if r := e.putClient(c, c.RAT, c.RedirectURIs[0]); r.Status == http.StatusOK {
		rat, _ := r.json(t)["registration_access_token"].(string)
		e.remember(rat)
	}
	e.tokenWith(codeForm(f), basicHeader("Basic", c.ID, c.Secret+"x"))
	e.gh.CancelNextLogin()
	b.login(c, nil)
	e.revoke(pub, ptok.Refresh)

	secrets := e.issuedSecrets()
	secrets = append(secrets, e.gh.Secrets()...)
	for _, fl := range []*flow{f, pf} {
		secrets = append(secrets, fl.Req.Verifier, fl.Req.Query.Get("state"), fl.GitHub.Query().Get("state"))
	}
	if len(e.gh.IssuedTokens()) < 2 || len(secrets) < 20 {
		t.Fatalf("too little to check: %d secrets, %d GitHub tokens", len(secrets), len(e.gh.IssuedTokens()))
	}
	e.caddy.stop() // flush
	log := e.caddy.log.String()
	if !strings.Contains(log, `"level":"debug"`) {
		t.Fatal("the log has no debug entries; is the debug option on?")
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("LG-01: Caddy's log contains a secret %s…", s[:min(len(s), 8)])
		}
	}
	transcript := e.transcriptText()
	for _, gt := range e.gh.IssuedTokens() {
		if strings.Contains(transcript, gt) {
			t.Errorf("CD-10: a response contained GitHub's access token %s…", gt[:8])
		}
	}
	if strings.Contains(transcript, "gh-secret") {
		t.Error("CD-10: a response contained the GitHub client secret")
	}
}
