package caddymodule

import (
	"encoding/json"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// FuzzCaddyfile: any text inside the mcp_oauth global option and inside
// mcp_oauth_verify adapts to JSON or to an error, never a panic; what
// adapts is JSON the app decodes.
func FuzzCaddyfile(f *testing.F) {
	f.Add("scopes mcp mcp:read\n\t\tresources https://mcp.example.com/github\n\t\tgithub {\n\t\t\tclient_id x\n\t\t\tallowed_users alice 4242\n\t\t}",
		"resource https://mcp.example.com/mcp\n\t\t\tscopes mcp")
	f.Add("storage redis {\n\t\t\taddresses 127.0.0.1:6379 127.0.0.1:6380\n\t\t\ttimeout 1s\n\t\t}", "allowed_origins https://a.example")
	f.Add("client_id_metadata {\n\t\t\tallowed_hosts *.example.com\n\t\t\tprivate_hosts 127.0.0.1:8443\n\t\t\tcache_max 1h\n\t\t}", "")
	f.Add("client_id_metadata off\n\t\tscope_descriptions {\n\t\t\tmcp \"use it\"\n\t\t}", "user_id_header X-Id")
	f.Add("storage bolt {\n\t\t\tpath /tmp/x.db\n\t\t}\n\t\tregistration_limit -1", "scopes")
	f.Add("github {\n\t\t\t}\n\t\t}\n\t}", "}\n}")
	f.Add("{\n\"", "{")
	f.Fuzz(func(t *testing.T, global, verify string) {
		cf := "{\n\tmcp_oauth {\n\t\tissuer https://auth.example.com\n\t\t" + global + "\n\t}\n}\n\n" +
			"auth.example.com {\n\tmcp_oauth_server\n}\n\n" +
			"mcp.example.com {\n\troute /m/* {\n\t\tmcp_oauth_verify {\n\t\t\t" + verify + "\n\t\t}\n\t\trespond 204\n\t}\n}\n"
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
		if err != nil {
			return
		}
		var cfg struct {
			Apps struct {
				MCPOAuth json.RawMessage `json:"mcp_oauth"`
			} `json:"apps"`
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("adapted to invalid JSON: %v\n%s", err, out)
		}
		if cfg.Apps.MCPOAuth != nil {
			var app App
			if err := json.Unmarshal(cfg.Apps.MCPOAuth, &app); err != nil {
				t.Fatalf("the mcp_oauth app JSON does not decode: %v\n%s", err, cfg.Apps.MCPOAuth)
			}
		}
	})
}
