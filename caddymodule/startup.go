package caddymodule

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/caddyserver/caddy/v2"
)

// Load errors are read by someone whose Caddy just refused to start. Caddy
// prefixes each module's error with the path to it ("loading http app
// module: provision http: server srv0: ... provision mcp_oauth: ..."),
// which puts the cause at the end of a long line; so the app also logs
// the cause on its own line, first, and the handlers do not add a guess
// of their own to it.

// findApp returns the mcp_oauth app for handler who. Only a config with
// no mcp_oauth app at all gets the hint to add the global option; an app
// that failed to load returns its own error, unchanged.
func findApp(ctx caddy.Context, who string) (*App, error) {
	app, err := ctx.AppIfConfigured("mcp_oauth")
	if errors.Is(err, caddy.ErrNotConfigured) {
		err = fmt.Errorf("%s needs the mcp_oauth global option (issuer, github): %w", who, err)
		ctx.Logger().Error(err.Error())
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return app.(*App), nil
}

// caddyPath matches the module-path prefixes Caddy and our own loading
// steps put before an error.
var caddyPath = regexp.MustCompile(`(mcp_oauth|loading storage|loading module '[^']*'|provision [a-z0-9_.]+): `)

// logStartFailure logs the cause of a failed Provision on its own line.
func (a *App) logStartFailure(err error) {
	if err == nil || a.logger == nil {
		return
	}
	a.logger.Error(caddyPath.ReplaceAllString(err.Error(), ""))
}

// warnNobodyAllowed warns at start when no GitHub user may log in: every
// login would end on the refusal page, which a new deployment rarely
// means.
func (a *App) warnNobodyAllowed() {
	gh := &a.cfg.GitHub
	if len(gh.AllowedUsers) == 0 && len(gh.AllowedOrgs) == 0 && len(gh.AllowedTeams) == 0 {
		a.logger.Warn(`github allowed_users, allowed_orgs and allowed_teams are empty, so nobody can log in; list GitHub logins or ids ` +
			`(allowed_users alice 4242), orgs or teams, or "*" for every GitHub user`)
	}
}
