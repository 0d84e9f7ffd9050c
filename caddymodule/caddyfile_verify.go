package caddymodule

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func init() {
	httpcaddyfile.RegisterDirective("mcp_oauth_verify", parseVerifyDirective)
	// Before basic_auth: ahead of route/handle blocks and reverse_proxy in
	// a site, so the gate runs first; users write no `order` line.
	httpcaddyfile.RegisterDirectiveOrder("mcp_oauth_verify", httpcaddyfile.Before, "basic_auth")
}

// asMetadataPaths are the authorization server's metadata URLs, which
// clients of the 2025-03-26 MCP revision look for on the MCP origin.
var asMetadataPaths = []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}

// parseVerifyDirective sets up the gate. Syntax:
//
//	mcp_oauth_verify [<matcher>] {
//		resource         <url>
//		scopes           <scope...>
//		user_id_header   <name>
//		user_name_header <name>
//		orgs_header      <name>
//		teams_header     <name>
//		allowed_origins  <origin...>
//		github_token
//	}
//
// With a path matcher such as /github/*, the protected resource is that
// path on the site's origin, and the directive also routes the resource's
// well-known metadata URLs (/.well-known/oauth-protected-resource/github
// and below, which the matcher itself would not let through) to the gate. Inside
// `route /github/*` the gate finds the path from the route instead.
func parseVerifyDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	h.Next()                                 // directive name
	matcherSet, err := h.ExtractMatcherSet() // removes the matcher, rewinds
	if err != nil {
		return nil, err
	}
	h.Next()
	gate := new(VerifyHandler)
	if err := gate.unmarshalCaddyfile(h); err != nil {
		return nil, err
	}
	prefix, isPath := pathMatcherPrefix(matcherSet)
	if !isPath {
		return h.NewRoute(matcherSet, gate), nil
	}
	gate.ResourcePath, gate.MetadataRoute = prefix, true
	// Every matcher-form gate also takes the site-wide discovery URLs: the
	// root RFC 9728 URL and the authorization server's metadata on the MCP
	// origin. Routes run in order inside each site, so the site's first
	// gate answers them: per site, with no state shared across sites
	// (Caddy's BlockState at the top level is one map for all of them).
	wellKnown := []string{oauthcore.PRMPath + prefix, oauthcore.PRMPath + prefix + "/*"}
	if prefix != "" {
		wellKnown = append(wellKnown, oauthcore.PRMPath)
	}
	wellKnown = append(wellKnown, asMetadataPaths...)
	metaMatcher := caddy.ModuleMap{"path": h.JSON(wellKnown)}
	routes := h.NewRoute(metaMatcher, gate)
	return append(routes, h.NewRoute(matcherSet, gate)...), nil
}

// pathMatcherPrefix recognises a matcher that is one plain path prefix.
func pathMatcherPrefix(set caddy.ModuleMap) (string, bool) {
	raw, ok := set["path"]
	if !ok || len(set) != 1 {
		return "", false
	}
	var paths []string
	if err := json.Unmarshal(raw, &paths); err != nil || len(paths) != 1 {
		return "", false
	}
	return pathPatternPrefix(paths[0])
}

func (v *VerifyHandler) unmarshalCaddyfile(h httpcaddyfile.Helper) error {
	if h.NextArg() {
		return h.ArgErr()
	}
	fields := map[string]*string{"resource": &v.Resource, "user_id_header": &v.UserIDHeader, "user_name_header": &v.UserNameHeader,
		"orgs_header": &v.OrgsHeader, "teams_header": &v.TeamsHeader}
	lists := map[string]*[]string{"scopes": &v.Scopes, "allowed_origins": &v.AllowedOrigins}
	for h.NextBlock(0) {
		opt := h.Val()
		switch {
		case fields[opt] != nil:
			if err := oneArg(h.Dispenser, fields[opt]); err != nil {
				return err
			}
		case lists[opt] != nil:
			if err := manyArgs(h.Dispenser, lists[opt]); err != nil {
				return err
			}
		case opt == "github_token":
			if h.NextArg() {
				return h.Errf("github_token takes no arguments")
			}
			v.GitHubToken = true
		default:
			return unknownOption(h.Dispenser, "mcp_oauth_verify", opt, VerifyHandler{}, "resource_path", "metadata_route")
		}
	}
	return nil
}
