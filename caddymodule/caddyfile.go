package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("mcp_oauth", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("mcp_oauth_server", parseServerDirective)
	// The endpoints answer before respond/reverse_proxy/file_server on the
	// same site, and pass other paths on, so no `order` line is needed.
	httpcaddyfile.RegisterDirectiveOrder("mcp_oauth_server", httpcaddyfile.Before, "respond")
}

func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "mcp_oauth", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens. Syntax:
//
//	mcp_oauth {
//		issuer                 <url>
//		jwt_secret             <secret>
//		key_rotation           <duration>
//		access_token_lifetime  <duration>
//		refresh_token_lifetime <duration>
//		client_lifetime        <duration|0>
//		code_lifetime          <duration>
//		refresh_grace          <duration>
//		consent_lifetime       <duration>
//		registration_limit     <per minute|-1>
//		scopes                 <scope...>
//		default_scope          <scope...>
//		resources              <url...>
//		redirect_schemes       <scheme...>
//		name                   <text>
//		scope_descriptions {
//			<scope> <text>
//		}
//		client_id_metadata off
//		client_id_metadata {
//			off
//			allowed_hosts <host...>
//			trusted_hosts <host...>
//			private_hosts <host[:port]...>
//			cache_max     <duration>
//			timeout       <duration>
//		}
//		github {
//			client_id     <id>
//			client_secret <secret>
//			allowed_users  <login|id|*...>
//			allowed_orgs   <org...>
//			allowed_teams  <org/team-slug...>
//			scopes         <scope...>
//			membership_ttl <duration>
//			web_url       <url>
//			api_url       <url>
//			timeout       <duration>
//		}
//		storage bolt [<path>]
//		storage redis [<url>] { ... }
//	}
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	strings := map[string]*string{
		"issuer": &a.Issuer, "jwt_secret": &a.JWTSecret, "key_rotation": &a.KeyRotation,
		"access_token_lifetime": &a.AccessTokenLifetime, "refresh_token_lifetime": &a.RefreshTokenLifetime,
		"client_lifetime": &a.ClientLifetime, "code_lifetime": &a.CodeLifetime,
		"refresh_grace": &a.RefreshGrace, "consent_lifetime": &a.ConsentLifetime,
		"registration_limit": &a.RegistrationLimit, "name": &a.Name,
	}
	lists := map[string]*[]string{"scopes": &a.Scopes, "resources": &a.Resources, "redirect_schemes": &a.RedirectSchemes}
	for d.NextBlock(0) {
		opt := d.Val()
		switch {
		case strings[opt] != nil:
			if err := oneArg(d, strings[opt]); err != nil {
				return err
			}
		case lists[opt] != nil:
			if err := manyArgs(d, lists[opt]); err != nil {
				return err
			}
		case opt == "default_scope":
			var scopes []string
			if err := manyArgs(d, &scopes); err != nil {
				return err
			}
			a.DefaultScope = joinSpace(scopes)
		case opt == "github":
			if err := a.GitHub.unmarshalCaddyfile(d); err != nil {
				return err
			}
		case opt == "scope_descriptions":
			if err := a.unmarshalScopeDescriptions(d); err != nil {
				return err
			}
		case opt == "client_id_metadata":
			a.ClientIDMetadata = new(ClientIDMetadataConfig)
			if err := a.ClientIDMetadata.unmarshalCaddyfile(d); err != nil {
				return err
			}
		case opt == "limits":
			a.Limits = new(LimitsConfig)
			if err := a.Limits.unmarshalCaddyfile(d); err != nil {
				return err
			}
		case opt == "storage":
			if err := a.unmarshalStorage(d); err != nil {
				return err
			}
		default:
			return unknownOption(d, "mcp_oauth", opt, App{})
		}
	}
	return nil
}

func (g *GitHubConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	fields := map[string]*string{"client_id": &g.ClientID, "client_secret": &g.ClientSecret,
		"web_url": &g.WebURL, "api_url": &g.APIURL, "timeout": &g.Timeout, "membership_ttl": &g.MembershipTTL}
	lists := map[string]*[]string{"allowed_users": &g.AllowedUsers, "allowed_orgs": &g.AllowedOrgs,
		"allowed_teams": &g.AllowedTeams, "scopes": &g.Scopes}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch {
		case fields[opt] != nil:
			if err := oneArg(d, fields[opt]); err != nil {
				return err
			}
		case lists[opt] != nil:
			if err := manyArgs(d, lists[opt]); err != nil {
				return err
			}
		default:
			return unknownOption(d, "github", opt, GitHubConfig{})
		}
	}
	return nil
}

// unmarshalScopeDescriptions reads a block of `<scope> <text>` lines.
func (a *App) unmarshalScopeDescriptions(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		scope := d.Val()
		text := d.RemainingArgs()
		if len(text) == 0 {
			return d.Errf("scope_descriptions: %s needs a text", scope)
		}
		if a.ScopeDescriptions == nil {
			a.ScopeDescriptions = map[string]string{}
		}
		a.ScopeDescriptions[scope] = joinSpace(text)
	}
	return nil
}

// unmarshalCaddyfile reads `client_id_metadata off` or the block form.
func (m *ClientIDMetadataConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		if d.Val() != "off" || d.NextArg() {
			return d.Errf("client_id_metadata takes no argument but off")
		}
		m.Off = true
	}
	lists := map[string]*[]string{"allowed_hosts": &m.AllowedHosts, "trusted_hosts": &m.TrustedHosts,
		"private_hosts": &m.PrivateHosts}
	fields := map[string]*string{"cache_max": &m.CacheMax, "timeout": &m.Timeout}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch {
		case lists[opt] != nil:
			if err := manyArgs(d, lists[opt]); err != nil {
				return err
			}
		case fields[opt] != nil:
			if err := oneArg(d, fields[opt]); err != nil {
				return err
			}
		case opt == "off":
			if d.NextArg() {
				return d.ArgErr()
			}
			m.Off = true
		default:
			return unknownOption(d, "client_id_metadata", opt, ClientIDMetadataConfig{})
		}
	}
	return nil
}

// unmarshalStorage reads `storage bolt [<path>]` or a block form
// `storage bolt { path <path> }`.
func (a *App) unmarshalStorage(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	switch kind := d.Val(); kind {
	case "bolt":
		var b BoltStorage
		if d.NextArg() {
			b.Path = d.Val()
		}
		if d.NextArg() {
			return d.ArgErr()
		}
		for nesting := d.Nesting(); d.NextBlock(nesting); {
			if d.Val() != "path" {
				return unknownOption(d, "bolt storage", d.Val(), BoltStorage{})
			}
			if err := oneArg(d, &b.Path); err != nil {
				return err
			}
		}
		a.StorageRaw = caddyconfig.JSONModuleObject(b, "module", "bolt", nil)
	case "redis":
		var rs RedisStorage
		if err := rs.unmarshalCaddyfile(d); err != nil {
			return err
		}
		a.StorageRaw = caddyconfig.JSONModuleObject(rs, "module", "redis", nil)
	default:
		return d.Errf("unknown storage %q (supported: bolt, redis)", kind)
	}
	return nil
}

// unmarshalCaddyfile reads `storage redis [<url>] { ... }`:
//
//	storage redis [<url>] {
//		url                      <url>
//		addresses                <host:port...>
//		master_name              <name>
//		username                 <user>
//		password                 <password>
//		db                       <n>
//		tls
//		tls_insecure_skip_verify
//		key_prefix               <prefix>
//		pool_size                <n>
//		timeout                  <duration>
//		dial_timeout             <duration>
//		unsafe_config            warn|refuse
//	}
func (rs *RedisStorage) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		rs.URL = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	fields := map[string]*string{"url": &rs.URL, "master_name": &rs.MasterName, "username": &rs.Username,
		"password": &rs.Password, "db": &rs.DB, "key_prefix": &rs.KeyPrefix, "pool_size": &rs.PoolSize,
		"timeout": &rs.Timeout, "dial_timeout": &rs.DialTimeout, "unsafe_config": &rs.UnsafeConfig}
	flags := map[string]*bool{"tls": &rs.TLS, "tls_insecure_skip_verify": &rs.TLSInsecureSkipVerify}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch {
		case fields[opt] != nil:
			if err := oneArg(d, fields[opt]); err != nil {
				return err
			}
		case flags[opt] != nil:
			if d.NextArg() {
				return d.ArgErr()
			}
			*flags[opt] = true
		case opt == "addresses":
			if err := manyArgs(d, &rs.Addresses); err != nil {
				return err
			}
		default:
			return unknownOption(d, "redis storage", opt, RedisStorage{})
		}
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func manyArgs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}

func joinSpace(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

// parseServerDirective sets up mcp_oauth_server, which takes no options:
// everything lives in the mcp_oauth global option.
//
//	mcp_oauth_server
func parseServerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next()
	if h.NextArg() || h.NextBlock(0) {
		return nil, h.Err("mcp_oauth_server takes no arguments; configure it in the mcp_oauth global option")
	}
	return new(ServerHandler), nil
}
