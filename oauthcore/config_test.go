package oauthcore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	c := Config{Issuer: "https://auth.example.com", GitHub: GitHubConfig{ClientID: "id", ClientSecret: "secret"}}
	c.Defaults()
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"http loopback issuer", func(c *Config) { c.Issuer = "http://127.0.0.1:8080" }, ""},
		{"http localhost issuer", func(c *Config) { c.Issuer = "http://localhost:8080" }, ""},
		{"http public issuer", func(c *Config) { c.Issuer = "http://auth.example.com" }, "must use https"},
		{"relative issuer", func(c *Config) { c.Issuer = "auth.example.com" }, "absolute URL"},
		{"issuer with path", func(c *Config) { c.Issuer = "https://auth.example.com/oauth" }, "no path"},
		{"short jwt secret", func(c *Config) { c.JWTSecret = []byte("0123456789abcdef") }, "at least 32"},
		{"32-byte jwt secret", func(c *Config) { c.JWTSecret = []byte(strings.Repeat("k", 32)) }, ""},
		{"missing github client id", func(c *Config) { c.GitHub.ClientID = "" }, "github client_id"},
		{"missing github secret", func(c *Config) { c.GitHub.ClientSecret = "" }, "client_secret"},
		{"bad github url", func(c *Config) { c.GitHub.APIURL = "api.github.com" }, "github base URL"},
		{"long code lifetime", func(c *Config) { c.CodeLifetime = time.Hour }, "at most 10 minutes"},
		{"default scope outside scopes", func(c *Config) { c.DefaultScope = "admin" }, "default_scope"},
		{"bad resource", func(c *Config) { c.Resources = []string{"https://x.test/#f"} }, "resource"},
		{"org with a slash", func(c *Config) { c.GitHub.AllowedOrgs = []string{"acme/platform"} }, "github allowed_orgs"},
		{"team without slug", func(c *Config) { c.GitHub.AllowedTeams = []string{"acme"} }, "must be org/team-slug"},
		{"team with two slashes", func(c *Config) { c.GitHub.AllowedTeams = []string{"acme/a/b"} }, "must be org/team-slug"},
		{"bad github scope", func(c *Config) { c.GitHub.Scopes = []string{"repo read"} }, "github scopes"},
		{"membership_ttl too short", func(c *Config) { c.GitHub.MembershipTTL = time.Millisecond }, "membership_ttl"},
		{"membership_ttl too long", func(c *Config) { c.GitHub.MembershipTTL = 48 * time.Hour }, "membership_ttl"},
		{"orgs, teams and scopes", func(c *Config) {
			c.GitHub.AllowedOrgs, c.GitHub.AllowedTeams = []string{"acme", "my-org"}, []string{"acme/platform-db"}
			c.GitHub.Scopes = []string{"repo", "read:org", "admin:repo_hook"}
		}, ""},
		{"bad allowed host", func(c *Config) { c.ClientIDMetadata.AllowedHosts = []string{"a b"} }, "client_id_metadata: allowed_hosts: invalid host"},
		{"bad trusted host", func(c *Config) { c.ClientIDMetadata.TrustedHosts = []string{"https://x"} }, "client_id_metadata: trusted_hosts: invalid host"},
		{"bad private host", func(c *Config) { c.ClientIDMetadata.PrivateHosts = []string{"x:0"} }, "client_id_metadata:"},
		{"short cache_max", func(c *Config) { c.ClientIDMetadata.CacheMax = time.Second }, "client_id_metadata: cache_max"},
		{"negative timeout", func(c *Config) { c.ClientIDMetadata.Timeout = -time.Second }, "client_id_metadata:"},
		{"bad hosts when off", func(c *Config) {
			c.ClientIDMetadata = ClientIDMetadataConfig{Disabled: true, AllowedHosts: []string{"a b"}}
		}, ""},
		{"documents allowed hosts", func(c *Config) {
			c.ClientIDMetadata.AllowedHosts = []string{"*.example.com", "10.0.0.1"}
			c.ClientIDMetadata.PrivateHosts = []string{"127.0.0.1:8443", "intranet.test"}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// fakeResolver maps logins to ids, as GitHub's /users/{login} would.
type fakeResolver map[string]string

func (f fakeResolver) AuthCodeURL(string) string { return "" }
func (f fakeResolver) Exchange(context.Context, string) (User, error) {
	return User{}, errors.New("not used")
}
func (f fakeResolver) ResolveLogin(_ context.Context, login string) (string, error) {
	if id, ok := f[strings.ToLower(login)]; ok {
		return id, nil
	}
	return "", errUnknownLogin
}

func TestUserAllowed(t *testing.T) {
	alice := User{ID: "4242", Login: "alice"}
	tests := []struct {
		name string
		list []string
		user User
		ok   bool
	}{
		{"empty list fails closed", nil, alice, false}, // S11
		{"star", []string{"*"}, alice, true},
		{"login", []string{"alice"}, alice, true},
		{"login, other case", []string{"ALICE"}, alice, true},
		{"login with spaces", []string{" alice "}, alice, true},
		{"numeric id", []string{"4242"}, alice, true},
		{"numeric entry is never a login", []string{"4242"}, User{ID: "1", Login: "4242"}, false},
		{"other login", []string{"bob"}, alice, false},
		{"other user", []string{"alice"}, User{ID: "9", Login: "mallory"}, false},
		{"login taken over by another account", []string{"alice"}, User{ID: "999999", Login: "alice"}, false},
		{"unresolvable login", []string{"ghost"}, User{ID: "7", Login: "ghost"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := newAllowList(tt.list, fakeResolver{"alice": "4242", "bob": "5"}, slog.New(slog.DiscardHandler))
			if got, err := al.allows(t.Context(), tt.user); got != tt.ok || err != nil {
				t.Errorf("allows(%v, %+v) = %v, %v; want %v", tt.list, tt.user, got, err, tt.ok)
			}
		})
	}
}

func TestAllowListPinsFirstResolution(t *testing.T) {
	res := fakeResolver{"alice": "4242"}
	al := newAllowList([]string{"alice"}, res, slog.New(slog.DiscardHandler))
	if err := al.resolveAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	res["alice"] = "999999" // alice renamed; someone else registered "alice"
	if ok, _ := al.allows(t.Context(), User{ID: "999999", Login: "alice"}); ok {
		t.Fatal("the new holder of the login must not inherit access")
	}
	if ok, _ := al.allows(t.Context(), User{ID: "4242", Login: "alice"}); !ok {
		t.Fatal("the pinned account keeps access")
	}
}

func TestSealUnseal(t *testing.T) {
	sealed, err := seal("rt-one", "rt-two", randReader())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "rt-two") {
		t.Fatal("sealed successor contains the plain token")
	}
	got, err := unseal("rt-one", sealed)
	if err != nil || got != "rt-two" {
		t.Fatalf("unseal = %q, %v", got, err)
	}
	if _, err := unseal("rt-other", sealed); err == nil {
		t.Fatal("a different token must not unseal the successor")
	}
}

func TestCleanDisplayText(t *testing.T) {
	for in, want := range map[string]string{
		"Claude\u202Eevil":       "Claudeevil",
		"a\x00b\x1fc":            "abc",
		strings.Repeat("x", 200): strings.Repeat("x", 128),
		"  VS Code  ":            "VS Code",
	} {
		if got := cleanDisplayText(in, maxClientName); got != want {
			t.Errorf("cleanDisplayText(%q) = %q, want %q", in, got, want)
		}
	}
}

type downResolver struct{}

func (downResolver) AuthCodeURL(string) string { return "" }
func (downResolver) Exchange(context.Context, string) (User, error) {
	return User{}, errors.New("down")
}
func (downResolver) ResolveLogin(context.Context, string) (string, error) {
	return "", errors.New("github /users/alice: status 503")
}

// TestAllowListOutageDecidesNothing_RT09: a login GitHub cannot resolve
// right now is an outage, never a denial, unless another entry admits the
// user anyway.
func TestAllowListOutageDecidesNothing_RT09(t *testing.T) {
	t.Parallel()
	al := newAllowList([]string{"alice"}, downResolver{}, slog.New(slog.DiscardHandler))
	ok, err := al.allows(t.Context(), User{ID: "4242", Login: "alice"})
	if ok || AsError(err).Code != CodeTemporarilyUnavailable {
		t.Fatalf("allows during a GitHub outage = %v, %v; want false and temporarily_unavailable", ok, err)
	}
	al = newAllowList([]string{"alice", "4242"}, downResolver{}, slog.New(slog.DiscardHandler))
	if ok, err := al.allows(t.Context(), User{ID: "4242", Login: "alice"}); !ok || err != nil {
		t.Fatalf("an id entry admits the user whatever GitHub says: %v, %v", ok, err)
	}
	al = newAllowList([]string{"alice"}, downResolver{}, slog.New(slog.DiscardHandler))
	if ok, err := al.allows(t.Context(), User{ID: "7", Login: "mallory"}); ok || err != nil {
		t.Fatalf("a user no entry names is denied without asking GitHub: %v, %v", ok, err)
	}
}

// TestDefaultsKeepCallersScopeDescriptions: Defaults adds the mcp text to
// a copy, never to the map the caller passed.
func TestDefaultsKeepCallersScopeDescriptions(t *testing.T) {
	mine := map[string]string{"read": "read"}
	c := Config{ScopeDescriptions: mine}
	c.Defaults()
	if len(mine) != 1 || c.ScopeDescriptions["mcp"] != defaultMCPScopeText || c.ScopeDescriptions["read"] != "read" {
		t.Errorf("caller's map %v, config's %v", mine, c.ScopeDescriptions)
	}
}

// wrapped is a store wrapper that forwards nothing but Unwrap.
type wrapped struct {
	Store
	inner Store
}

func (w wrapped) Unwrap() Store { return w.inner }

// TestAbilityThroughWrappers: the server finds an optional ability of
// the store under any number of wrappers, and reports its absence.
func TestAbilityThroughWrappers(t *testing.T) {
	var st Store = lockingStore{}
	if _, ok := ability[Locker](wrapped{inner: wrapped{inner: st}}); !ok {
		t.Fatal("a Locker two wrappers deep was not found")
	}
	if _, ok := ability[RateCounter](wrapped{inner: st}); ok {
		t.Fatal("found an ability the store lacks")
	}
}

// lockingStore is a Store (unimplemented) with the Locker ability.
type lockingStore struct{ Store }

func (lockingStore) TryLock(context.Context, string, time.Duration) (func(), bool, error) {
	return func() {}, true, nil
}
