package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/boltstore"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/portlease"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// startupCase is a configuration a newcomer gets wrong and the message
// `caddy validate` must give for it, kept in testdata/errors/<name>.golden
// with the test's own addresses and paths replaced by {{ADDR}} and
// {{PATH}}. Run with UPDATE_GOLDEN=1 to rewrite the files.
type startupCase struct {
	name string
	// options are the lines in the mcp_oauth block after issuer and
	// github; users is github's allowed_users line (default alice).
	options []string
	users   string
	// global, when set, replaces the whole global options block.
	global string
	// subst maps the test's own values to the golden file's placeholders.
	subst map[string]string
	// valid: the config loads (the golden line is a warning).
	valid bool
}

// TestStartupErrorsGolden: each load error says its real cause once,
// on its own log line first (level error, logger mcp_oauth), and the
// final error repeats it exactly once, without a misleading "needs the
// mcp_oauth global option": Redis by address and kind, a locked bbolt
// file by path, an unknown option with the valid ones, and an empty
// allowed_users as a warning.
func TestStartupErrorsGolden(t *testing.T) {
	t.Parallel()
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(portlease.TakeForTest(t, 20000, 32000)))
	secret := redistest.Start(t, "--requirepass", "s3cret")
	paused := redistest.Start(t)
	paused.Pause()
	t.Cleanup(paused.Resume)
	locked := filepath.Join(t.TempDir(), "held.db")
	held, err := boltstore.Open(locked, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Close() })
	cases := []startupCase{
		{name: "redis_refused", options: []string{"storage redis redis://" + closed}, subst: map[string]string{closed: "{{ADDR}}"}},
		{name: "redis_no_such_host", options: []string{"storage redis redis://no-such-host.invalid:6379"}},
		{name: "redis_wrongpass", options: []string{"storage redis redis://:wrong@" + secret.Addr}, subst: map[string]string{secret.Addr: "{{ADDR}}"}},
		{name: "redis_noauth", options: []string{"storage redis redis://" + secret.Addr}, subst: map[string]string{secret.Addr: "{{ADDR}}"}},
		{name: "redis_timeout", options: []string{"storage redis redis://" + paused.Addr}, subst: map[string]string{paused.Addr: "{{ADDR}}"}},
		{name: "bolt_locked", options: []string{"storage bolt " + locked}, subst: map[string]string{locked: "{{PATH}}"}},
		{name: "unknown_option", options: []string{"storage redis redis://127.0.0.1:6379 {\n\t\t\tpasswd x\n\t\t}"}},
		{name: "no_app", global: "{\n\tadmin off\n}"},
		{name: "nobody_allowed", users: "-", valid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkStartup(t, tc)
		})
	}
}

func checkStartup(t *testing.T, tc startupCase) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(startupCaddyfile(tc)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "validate", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir+"/data", "XDG_CONFIG_HOME="+dir+"/config")
	out, err := cmd.CombinedOutput()
	if tc.valid != (err == nil) {
		t.Fatalf("caddy validate: %v (want valid: %v)\n%s", err, tc.valid, out)
	}
	first, final := startupLines(string(out))
	got := strings.ReplaceAll(first, file, "{{CADDYFILE}}")
	for from, to := range tc.subst {
		got = strings.ReplaceAll(got, from, to)
	}
	golden := filepath.Join("testdata", "errors", tc.name+".golden")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Fatalf("the message differs from %s:\n got: %s\nwant: %s\n\n%s", golden, got, want, out)
	}
	if tc.valid {
		return
	}
	if n := strings.Count(final, first); n != 1 && final != first {
		t.Errorf("the final error says the cause %d times, want once:\n%s", n, final)
	}
	if tc.name != "no_app" && strings.Contains(string(out), "needs the mcp_oauth global option") {
		t.Errorf("a misleading hint at the global option:\n%s", out)
	}
	for _, secret := range []string{"s3cret", ":wrong@"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the output shows the password (%q):\n%s", secret, out)
		}
	}
}

// startupLines returns the first warning or error Caddy logged (or the
// "Error:" line for an adapter error) and the last one.
func startupLines(out string) (first, final string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		msg := ""
		var entry struct{ Level, Logger, Msg string }
		switch {
		case json.Unmarshal([]byte(line), &entry) == nil:
			if entry.Level != "error" && entry.Level != "warn" || strings.Contains(entry.Msg, "caddy fmt") {
				continue
			}
			msg = entry.Msg
		case strings.HasPrefix(line, "Error: "):
			msg = strings.TrimPrefix(line, "Error: ")
		default:
			continue
		}
		if first == "" {
			first = msg
		}
		final = msg
	}
	return first, final
}

func startupCaddyfile(tc startupCase) string {
	global := tc.global
	if global == "" {
		users := tc.users
		switch users {
		case "":
			users = "\n\t\t\tallowed_users alice"
		case "-":
			users = ""
		default:
			users = "\n\t\t\tallowed_users " + users
		}
		global = fmt.Sprintf("{\n\tadmin off\n\tmcp_oauth {\n\t\tissuer https://auth.example.com\n\t\tgithub {\n\t\t\tclient_id x\n\t\t\tclient_secret y%s\n\t\t}\n\t\t%s\n\t}\n}",
			users, strings.Join(tc.options, "\n\t\t"))
	}
	return global + "\nhttps://auth.example.com {\n\tmcp_oauth_server\n}\n"
}
