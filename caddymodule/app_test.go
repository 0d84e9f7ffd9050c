package caddymodule

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// resolvedConfig is the oauthcore configuration the app builds in
// Provision: placeholders resolved, durations parsed, defaults applied.
func resolvedConfig(a *App) (oauthcore.Config, error) { return a.config() }

// validApp is the least the app needs, to vary one field at a time.
func validApp() *App {
	return &App{Issuer: "https://auth.example.com", GitHub: GitHubConfig{ClientID: "id", ClientSecret: "secret"}}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	secsFile := filepath.Join(t.TempDir(), "lifetime")
	if err := os.WriteFile(secsFile, []byte("7200\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw     string
		want    time.Duration
		wantErr string
	}{
		// Seconds, as the original's ACCESS_TOKEN_LIFETIME and friends.
		{raw: "3600", want: time.Hour},
		{raw: "86400", want: 24 * time.Hour},
		{raw: " 60 ", want: time.Minute},
		// Go and Caddy durations.
		{raw: "90m", want: 90 * time.Minute},
		{raw: "24h", want: 24 * time.Hour},
		{raw: "1h30m", want: 90 * time.Minute},
		{raw: "90d", want: 90 * 24 * time.Hour},
		// A placeholder resolved first.
		{raw: "{file." + secsFile + "}", want: 2 * time.Hour},
		// Refused.
		{raw: "-5", wantErr: "must not be negative"},
		{raw: "-1h", wantErr: "must not be negative"},
		{raw: "soon", wantErr: "is not a duration"},
		{raw: "1.5", wantErr: "is not a duration"},
		{raw: "10 s", wantErr: "is not a duration"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			a := validApp()
			a.AccessTokenLifetime = tc.raw
			cfg, err := resolvedConfig(a)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "access_token_lifetime") {
					t.Fatalf("err %v, want one naming access_token_lifetime and saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg.AccessTokenLifetime != tc.want {
				t.Fatalf("got %v %v, want %v", cfg.AccessTokenLifetime, err, tc.want)
			}
		})
	}
}

func TestEveryDurationOption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  func(a *App, v string)
		get  func(c oauthcore.Config) time.Duration
	}{
		{"key_rotation", func(a *App, v string) { a.KeyRotation = v }, func(c oauthcore.Config) time.Duration { return c.KeyRotation }},
		{"access_token_lifetime", func(a *App, v string) { a.AccessTokenLifetime = v }, func(c oauthcore.Config) time.Duration { return c.AccessTokenLifetime }},
		{"refresh_token_lifetime", func(a *App, v string) { a.RefreshTokenLifetime = v }, func(c oauthcore.Config) time.Duration { return c.RefreshTokenLifetime }},
		{"client_lifetime", func(a *App, v string) { a.ClientLifetime = v }, func(c oauthcore.Config) time.Duration { return c.ClientLifetime }},
		{"code_lifetime", func(a *App, v string) { a.CodeLifetime = v }, func(c oauthcore.Config) time.Duration { return c.CodeLifetime }},
		{"refresh_grace", func(a *App, v string) { a.RefreshGrace = v }, func(c oauthcore.Config) time.Duration { return c.RefreshGrace }},
		{"consent_lifetime", func(a *App, v string) { a.ConsentLifetime = v }, func(c oauthcore.Config) time.Duration { return c.ConsentLifetime }},
		{"github timeout", func(a *App, v string) { a.GitHub.Timeout = v }, func(c oauthcore.Config) time.Duration { return c.GitHub.Timeout }},
		{"github membership_ttl", func(a *App, v string) { a.GitHub.MembershipTTL = v }, func(c oauthcore.Config) time.Duration { return c.GitHub.MembershipTTL }},
		{"client_id_metadata cache_max", func(a *App, v string) { a.ClientIDMetadata = &ClientIDMetadataConfig{CacheMax: v} }, func(c oauthcore.Config) time.Duration { return c.ClientIDMetadata.CacheMax }},
		{"client_id_metadata timeout", func(a *App, v string) { a.ClientIDMetadata = &ClientIDMetadataConfig{Timeout: v} }, func(c oauthcore.Config) time.Duration { return c.ClientIDMetadata.Timeout }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := validApp()
			tc.set(a, "120")
			cfg, err := resolvedConfig(a)
			if err != nil || tc.get(cfg) != 2*time.Minute {
				t.Errorf("120 seconds: got %v %v", tc.get(cfg), err)
			}
			a = validApp()
			tc.set(a, "later")
			if _, err := resolvedConfig(a); err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("a bad value: err %v, want one naming %s", err, tc.name)
			}
		})
	}
}

func TestAppConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mod     func(a *App)
		check   func(t *testing.T, c oauthcore.Config)
		wantErr string
	}{
		{
			name: "defaults", mod: func(*App) {},
			check: func(t *testing.T, c oauthcore.Config) {
				if c.AccessTokenLifetime != 24*time.Hour || len(c.Scopes) == 0 || c.JWTSecret != nil || c.RegistrationLimit <= 0 {
					t.Errorf("defaults not applied: lifetime %v scopes %v secret %v limit %d", c.AccessTokenLifetime, c.Scopes, c.JWTSecret, c.RegistrationLimit)
				}
			},
		},
		{
			name: "allowed users split by commas and spaces, as ALLOWED_GITHUB_USERS",
			mod:  func(a *App) { a.GitHub.AllowedUsers = []string{"alice, bob", "4242"} },
			check: func(t *testing.T, c oauthcore.Config) {
				if want := []string{"alice", "bob", "4242"}; !slices.Equal(c.GitHub.AllowedUsers, want) {
					t.Errorf("allowed users %q, want %q", c.GitHub.AllowedUsers, want)
				}
			},
		},
		{
			name: "lists and strings trimmed",
			mod: func(a *App) {
				a.Scopes, a.DefaultScope, a.Issuer = []string{"mcp,tools"}, " mcp ", " https://auth.example.com "
			},
			check: func(t *testing.T, c oauthcore.Config) {
				if !slices.Equal(c.Scopes, []string{"mcp", "tools"}) || c.DefaultScope != "mcp" || c.Issuer != "https://auth.example.com" {
					t.Errorf("scopes %q default %q issuer %q", c.Scopes, c.DefaultScope, c.Issuer)
				}
			},
		},
		{
			name: "client_lifetime 0 means never, as the original's CLIENT_LIFETIME=0",
			mod:  func(a *App) { a.ClientLifetime = "0" },
			check: func(t *testing.T, c oauthcore.Config) {
				if c.ClientLifetime >= 0 {
					t.Errorf("client lifetime %v, want negative (never expires)", c.ClientLifetime)
				}
			},
		},
		{
			name: "no registration limit", mod: func(a *App) { a.RegistrationLimit = "-1" },
			check: func(t *testing.T, c oauthcore.Config) {
				if c.RegistrationLimit != -1 {
					t.Errorf("registration limit %d", c.RegistrationLimit)
				}
			},
		},
		{
			name: "a jwt secret", mod: func(a *App) { a.JWTSecret = strings.Repeat("k", 40) },
			check: func(t *testing.T, c oauthcore.Config) {
				if len(c.JWTSecret) != 40 {
					t.Errorf("jwt secret of %d bytes", len(c.JWTSecret))
				}
			},
		},
		{
			name: "client_id_metadata on by default", mod: func(*App) {},
			check: func(t *testing.T, c oauthcore.Config) {
				if !c.ClientIDMetadata.Enabled() {
					t.Errorf("client_id_metadata is off by default")
				}
			},
		},
		{
			name: "client_id_metadata options",
			mod: func(a *App) {
				a.ClientIDMetadata = &ClientIDMetadataConfig{AllowedHosts: []string{"claude.ai, *.vscode.dev"},
					TrustedHosts: []string{"claude.ai"}, PrivateHosts: []string{"127.0.0.1:8443"}, CacheMax: "1h", Timeout: "3"}
			},
			check: func(t *testing.T, c oauthcore.Config) {
				m := c.ClientIDMetadata
				if !m.Enabled() || !slices.Equal(m.AllowedHosts, []string{"claude.ai", "*.vscode.dev"}) ||
					!slices.Equal(m.TrustedHosts, []string{"claude.ai"}) || !slices.Equal(m.PrivateHosts, []string{"127.0.0.1:8443"}) ||
					m.CacheMax != time.Hour || m.Timeout != 3*time.Second {
					t.Errorf("client_id_metadata %+v", m)
				}
			},
		},
		{
			name: "client_id_metadata off", mod: func(a *App) { a.ClientIDMetadata = &ClientIDMetadataConfig{Off: true} },
			check: func(t *testing.T, c oauthcore.Config) {
				if c.ClientIDMetadata.Enabled() {
					t.Errorf("client_id_metadata off is on")
				}
			},
		},
		{
			name: "name and scope descriptions",
			mod: func(a *App) {
				a.Name, a.ScopeDescriptions = " Acme ", map[string]string{"mcp": "use Acme's servers"}
			},
			check: func(t *testing.T, c oauthcore.Config) {
				if c.Name != "Acme" || c.ScopeDescriptions["mcp"] != "use Acme's servers" {
					t.Errorf("name %q scope descriptions %v", c.Name, c.ScopeDescriptions)
				}
			},
		},
		{name: "client_id_metadata bad timeout", mod: func(a *App) { a.ClientIDMetadata = &ClientIDMetadataConfig{Timeout: "soon"} },
			wantErr: "client_id_metadata timeout"},
		{
			name: "github orgs, teams and scopes, from placeholders and lists",
			mod: func(a *App) {
				a.GitHub.AllowedOrgs, a.GitHub.AllowedTeams = []string{"acme, beta"}, []string{"acme/platform"}
				a.GitHub.Scopes = []string{"repo"}
			},
			check: func(t *testing.T, c oauthcore.Config) {
				if strings.Join(c.GitHub.AllowedOrgs, " ") != "acme beta" || c.GitHub.AllowedTeams[0] != "acme/platform" ||
					c.GitHub.Scopes[0] != "repo" || c.GitHub.MembershipTTL != 5*time.Minute {
					t.Errorf("github %+v", c.GitHub)
				}
			},
		},
		{name: "registration limit 0", mod: func(a *App) { a.RegistrationLimit = "0" }, wantErr: "registration_limit"},
		{name: "registration limit not a number", mod: func(a *App) { a.RegistrationLimit = "many" }, wantErr: "registration_limit"},
		{name: "registration limit below -1", mod: func(a *App) { a.RegistrationLimit = "-2" }, wantErr: "registration_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := validApp()
			tc.mod(a)
			cfg, err := resolvedConfig(a)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func TestAppFromCaddyfile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		input   string
		check   func(t *testing.T, a *App)
		wantErr string
	}{
		{
			name: "options",
			input: `mcp_oauth {
				issuer https://auth.example.com
				access_token_lifetime 3600
				client_lifetime 0
				scopes mcp
				scopes tools
				default_scope mcp tools
				registration_limit -1
				github {
					client_id id
					client_secret {env.GH_SECRET}
					allowed_users alice 4242
					timeout 5s
				}
			}`,
			check: func(t *testing.T, a *App) {
				if a.Issuer != "https://auth.example.com" || a.AccessTokenLifetime != "3600" || a.ClientLifetime != "0" ||
					a.RegistrationLimit != "-1" {
					t.Errorf("strings: %+v", a)
				}
				if !slices.Equal(a.Scopes, []string{"mcp", "tools"}) || a.DefaultScope != "mcp tools" {
					t.Errorf("scopes %q default %q", a.Scopes, a.DefaultScope)
				}
				g := a.GitHub
				if g.ClientID != "id" || g.ClientSecret != "{env.GH_SECRET}" || !slices.Equal(g.AllowedUsers, []string{"alice", "4242"}) || g.Timeout != "5s" {
					t.Errorf("github %+v", g)
				}
				if a.StorageRaw != nil {
					t.Errorf("storage %s without a storage option", a.StorageRaw)
				}
			},
		},
		{
			name:  "storage bolt with a path",
			input: "mcp_oauth {\n storage bolt /var/lib/oauth.db\n}",
			check: storageIs("bolt", `"path":"/var/lib/oauth.db"`),
		},
		{
			name:  "storage bolt block",
			input: "mcp_oauth {\n storage bolt {\n  path /data/x.db\n }\n}",
			check: storageIs("bolt", `"path":"/data/x.db"`),
		},
		{
			name:  "storage redis",
			input: "mcp_oauth {\n storage redis redis://127.0.0.1:6379 {\n  key_prefix oauth:\n  tls\n }\n}",
			check: storageIs("redis", `"url":"redis://127.0.0.1:6379"`, `"key_prefix":"oauth:"`, `"tls":true`),
		},
		{name: "an argument", input: "mcp_oauth extra {\n}", wantErr: "wrong argument count"},
		{name: "an unknown option", input: "mcp_oauth {\n lifetime 5\n}", wantErr: `unrecognized mcp_oauth option "lifetime"`},
		{name: "two values", input: "mcp_oauth {\n issuer a b\n}", wantErr: "wrong argument count"},
		{name: "no value", input: "mcp_oauth {\n issuer\n}", wantErr: "wrong argument count"},
		{name: "an empty list", input: "mcp_oauth {\n scopes\n}", wantErr: "wrong argument count"},
		{name: "an unknown github option", input: "mcp_oauth {\n github {\n  org x\n }\n}", wantErr: `unrecognized github option "org"`},
		{name: "an unknown storage", input: "mcp_oauth {\n storage sqlite\n}", wantErr: `unknown storage "sqlite"`},
		{name: "a storage without kind", input: "mcp_oauth {\n storage\n}", wantErr: "wrong argument count"},
		{name: "an unknown bolt option", input: "mcp_oauth {\n storage bolt {\n  size 5\n }\n}", wantErr: `unrecognized bolt storage option "size"`},
		{name: "an unknown redis option", input: "mcp_oauth {\n storage redis {\n  cluster\n }\n}", wantErr: `unrecognized redis storage option "cluster"`},
		{name: "a redis flag with a value", input: "mcp_oauth {\n storage redis {\n  tls yes\n }\n}", wantErr: "wrong argument count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := new(App)
			err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
		})
	}
}

// storageIs checks the storage module's name and JSON fields.
func storageIs(module string, fields ...string) func(t *testing.T, a *App) {
	return func(t *testing.T, a *App) {
		t.Helper()
		var m struct {
			Module string `json:"module"`
		}
		if err := json.Unmarshal(a.StorageRaw, &m); err != nil || m.Module != module {
			t.Fatalf("storage %s: want module %q", a.StorageRaw, module)
		}
		for _, f := range fields {
			if !strings.Contains(string(a.StorageRaw), f) {
				t.Errorf("storage %s lacks %s", a.StorageRaw, f)
			}
		}
	}
}

func TestAppProvision(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mod     func(a *App)
		wantErr string
	}{
		{name: "valid", mod: func(*App) {}},
		{name: "valid with an HS256 secret", mod: func(a *App) { a.JWTSecret = strings.Repeat("s", 32) }},
		{name: "valid on loopback http", mod: func(a *App) { a.Issuer = "http://127.0.0.1:8080" }},
		{name: "no issuer", mod: func(a *App) { a.Issuer = "" }, wantErr: "issuer"},
		{name: "an http issuer on a public host", mod: func(a *App) { a.Issuer = "http://auth.example.com" }, wantErr: "must use https"},
		{name: "an issuer with a path", mod: func(a *App) { a.Issuer = "https://auth.example.com/oauth" }, wantErr: "no path"},
		{name: "a short jwt secret", mod: func(a *App) { a.JWTSecret = "short" }, wantErr: "jwt_secret is 5 bytes"},
		{name: "no github app", mod: func(a *App) { a.GitHub = GitHubConfig{} }, wantErr: "github client_id and client_secret are required"},
		{name: "a code lifetime over 10 minutes", mod: func(a *App) { a.CodeLifetime = "11m" }, wantErr: "code_lifetime"},
		{name: "a default scope outside the scopes", mod: func(a *App) { a.DefaultScope = "admin" }, wantErr: "default_scope"},
		{name: "a bad duration", mod: func(a *App) { a.RefreshGrace = "a while" }, wantErr: "refresh_grace"},
		{name: "an unknown storage module", mod: func(a *App) { a.StorageRaw = json.RawMessage(`{"module":"sqlite"}`) }, wantErr: "loading storage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := validApp()
			a.StorageRaw = json.RawMessage(`{"module":"bolt","path":` + jsonString(filepath.Join(t.TempDir(), "oauth.db")) + `}`)
			tc.mod(a)
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := a.Provision(ctx)
			if err == nil {
				defer a.Cleanup()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "mcp_oauth: ") {
					t.Fatalf("Provision: %v, want an mcp_oauth error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Provision: %v", err)
			}
			if err := a.Validate(); err != nil {
				t.Errorf("Validate after Provision: %v", err)
			}
			if a.Server() == nil {
				t.Error("no server after Provision")
			}
		})
	}
}

func TestAppValidateUnprovisioned(t *testing.T) {
	t.Parallel()
	if err := new(App).Validate(); err == nil || !strings.HasPrefix(err.Error(), "mcp_oauth: ") {
		t.Errorf("Validate of an empty app: %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
