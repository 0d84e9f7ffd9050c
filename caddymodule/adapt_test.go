package caddymodule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// TestCaddyfileAdapt checks every testdata/adapt/*.caddyfiletest: a
// Caddyfile, a line of dashes, then the JSON it must adapt to (or the text
// "ERROR: <substring>" for a Caddyfile that must be refused). Run with
// UPDATE_GOLDEN=1 to rewrite the expected halves.
func TestCaddyfileAdapt(t *testing.T) {
	files, _ := filepath.Glob("testdata/adapt/*.caddyfiletest")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(raw), "\n----------\n")
			if !ok {
				t.Fatal("missing ---------- separator")
			}
			got := adapt(t, input)
			if os.Getenv("UPDATE_GOLDEN") == "1" && !strings.HasPrefix(want, "ERROR:") {
				_ = os.WriteFile(f, []byte(input+"\n----------\n"+got), 0o644)
				return
			}
			if msg, isErr := strings.CutPrefix(strings.TrimSpace(want), "ERROR:"); isErr {
				if !strings.Contains(got, strings.TrimSpace(msg)) {
					t.Fatalf("want an error containing %q, got:\n%s", msg, got)
				}
				return
			}
			if strings.TrimSpace(got) != strings.TrimSpace(want) {
				t.Fatalf("adapted JSON differs.\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

func adapt(t *testing.T, caddyfile string) string {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		return "ERROR: " + err.Error()
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		t.Fatal(err)
	}
	return buf.String() + "\n"
}
