package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// doctorReport runs `caddy mcp-oauth doctor <url> --json --insecure`.
func doctorReport(t *testing.T, url string) (steps []map[string]any, ok bool, out string) {
	t.Helper()
	raw, err := exec.Command(caddyBin, "mcp-oauth", "doctor", url, "--json", "--insecure").Output()
	var rep struct {
		Steps []map[string]any `json:"steps"`
	}
	if jerr := json.Unmarshal(raw, &rep); jerr != nil {
		t.Fatalf("doctor output is not JSON (%v): %s", jerr, raw)
	}
	return rep.Steps, err == nil, string(raw)
}

// failed lists the failing steps' names.
func failed(steps []map[string]any) []string {
	var out []string
	for _, s := range steps {
		if s["pass"] != true {
			out = append(out, s["name"].(string))
		}
	}
	return out
}

// TestDoctor: green (exit 0) against the README's gate form
// (`mcp_oauth_verify /github/*`), with every client shape registered and
// deleted again; red (exit non-zero), naming the fix, against a gate
// inside `route` (no metadata at the standard path) and a gate whose
// resource differs from the URL.
func TestDoctor(t *testing.T) {
	t.Parallel()
	t.Run("green", func(t *testing.T) {
		t.Parallel()
		e, _ := newMCPEnv(t, caddyConfig{}, "mcp_oauth_verify /github/*\n\treverse_proxy /github/* {{UPSTREAM}}")
		steps, ok, out := doctorReport(t, e.mcpURL("/github/mcp"))
		if !ok || len(failed(steps)) > 0 {
			t.Fatalf("doctor against the README form: failed %v\n%s", failed(steps), out)
		}
		if n := strings.Count(out, `"registration as `); n != 5 {
			t.Errorf("%d registrations checked, want 5", n)
		}
		text, err := exec.Command(caddyBin, "mcp-oauth", "doctor", e.mcpURL("/github/mcp"), "--insecure").Output()
		if err != nil || !strings.HasSuffix(string(text), "all checks passed\n") {
			t.Errorf("doctor text: %v\n%s", err, text)
		}
		t.Logf("doctor:\n%s", text)
	})
	for _, tc := range []struct {
		name, site, wantFail, wantFix string
	}{
		{"gate in route: no metadata at the standard path", gatedRoute, "resource metadata at the standard path", "mcp_oauth_verify /github/*"},
		{"resource differs from the URL", "mcp_oauth_verify /github/* {\n\t\tresource https://elsewhere.example/github\n\t}\n\treverse_proxy /github/* {{UPSTREAM}}",
			"resource matches the URL", "remove `resource`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newMCPEnv(t, caddyConfig{}, tc.site)
			steps, ok, out := doctorReport(t, e.mcpURL("/github/mcp"))
			text, _ := exec.Command(caddyBin, "mcp-oauth", "doctor", e.mcpURL("/github/mcp"), "--insecure").Output()
			t.Logf("doctor:\n%s", text)
			if ok || !slicesContain(failed(steps), tc.wantFail) || !strings.Contains(out, tc.wantFix) {
				t.Errorf("doctor: exit ok %v, failed %v; want %q failing with a fix naming %q\n%s", ok, failed(steps), tc.wantFail, tc.wantFix, out)
			}
		})
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
