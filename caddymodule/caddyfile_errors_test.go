package caddymodule

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestUnknownOptionListsOnlyRealOptions: every option an "unrecognized
// option" error lists is one the Caddyfile parser accepts in that block
// (it may complain about the value, never that the name is unknown), so
// the list a newcomer is shown can be trusted.
func TestUnknownOptionListsOnlyRealOptions(t *testing.T) {
	t.Parallel()
	blocks := []struct {
		block  string
		config any
		skip   []string
		wrap   func(line string) string
	}{
		{"mcp_oauth", App{}, nil, func(l string) string { return "{\n\tmcp_oauth {\n\t\t" + l + "\n\t}\n}" }},
		{"github", GitHubConfig{}, nil, func(l string) string { return "{\n\tmcp_oauth {\n\t\tgithub {\n\t\t\t" + l + "\n\t\t}\n\t}\n}" }},
		{"client_id_metadata", ClientIDMetadataConfig{}, nil, func(l string) string {
			return "{\n\tmcp_oauth {\n\t\tclient_id_metadata {\n\t\t\t" + l + "\n\t\t}\n\t}\n}"
		}},
		{"bolt storage", BoltStorage{}, nil, func(l string) string { return "{\n\tmcp_oauth {\n\t\tstorage bolt {\n\t\t\t" + l + "\n\t\t}\n\t}\n}" }},
		{"redis storage", RedisStorage{}, nil, func(l string) string {
			return "{\n\tmcp_oauth {\n\t\tstorage redis {\n\t\t\t" + l + "\n\t\t}\n\t}\n}"
		}},
		{"mcp_oauth_verify", VerifyHandler{}, []string{"resource_path", "metadata_route"}, func(l string) string {
			return "mcp.example.com {\n\tmcp_oauth_verify {\n\t\t" + l + "\n\t}\n}"
		}},
	}
	for _, b := range blocks {
		for _, name := range optionNames(reflect.TypeOf(b.config), b.skip) {
			got := adapt(t, b.wrap(name+" x"))
			if strings.Contains(got, fmt.Sprintf("unrecognized %s option %q", b.block, name)) {
				t.Errorf("%s lists %q, which its parser refuses: %s", b.block, name, got)
			}
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	valid := []string{"client_id", "client_secret", "allowed_users", "timeout", "web_url", "api_url"}
	for opt, want := range map[string]string{
		"client_idd": "client_id", "clientid": "client_id", "allowed_user": "allowed_users",
		"users": "allowed_users", "timeuot": "timeout", "xyz": "", "url": "",
	} {
		if got := closest(opt, valid); got != want {
			t.Errorf("closest(%q) = %q, want %q", opt, got, want)
		}
	}
}
