package caddymodule

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestGitHubEndpointLabel: GitHub URLs are labelled by kind, never by
// the login or org in them.
func TestGitHubEndpointLabel(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/login/oauth/access_token": "token", "/user": "user", "/users/alice": "users",
		"/api/v3/users/alice": "users", "/orgs/acme/members/alice": "orgs", "/user/teams": "user",
		"/repos/a/b": "other", "": "other",
	} {
		if got := githubEndpoint(path); got != want {
			t.Errorf("githubEndpoint(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestMetricsReRegister: a reload registers the same collectors with a
// new registry, and again with the same one, without error.
func TestMetricsReRegister(t *testing.T) {
	t.Parallel()
	for range 2 {
		reg := prometheus.NewRegistry()
		if err := metrics.register(reg); err != nil {
			t.Fatal(err)
		}
		if err := metrics.register(reg); err != nil {
			t.Fatalf("second register: %v", err)
		}
	}
}
