package tokens

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

// trace is what Redis did for one request, from MONITOR.
type trace struct {
	What       string
	RoundTrips int      // commands the Caddy sent
	Scripted   int      // commands its scripts ran inside Redis
	Steps      []string // one per round trip, with the script's commands
}

// traceRequest records the Redis commands of one request of kind on in,
// with nothing else running.
func traceRequest(ctx context.Context, red *benchkit.Redis, hc *http.Client, kind string, in *instance, g *grant) (*trace, error) {
	// One request first, untraced: go-redis sends EVALSHA and falls back
	// to EVAL when Redis does not know a script yet, which happens only on
	// the first use of each script.
	if err := once(hc, kind, in, g); err != nil {
		return nil, err
	}
	lines, err := red.Monitor(ctx, func() error { return once(hc, kind, in, g) })
	if err != nil {
		return nil, err
	}
	t := &trace{What: fmt.Sprintf("one %s on %s", kind, in.name)}
	var cur *struct {
		head  string
		inner []string
	}
	flush := func() {
		if cur == nil {
			return
		}
		s := cur.head
		if len(cur.inner) > 0 {
			s += " (script: " + strings.Join(cur.inner, ", ") + ")"
		}
		t.Steps = append(t.Steps, s)
		cur = nil
	}
	for _, m := range lines {
		if m.Lua {
			t.Scripted++
			if cur != nil {
				cur.inner = append(cur.inner, m.Cmd+" "+keyShape(firstKey(m)))
			}
			continue
		}
		flush()
		t.RoundTrips++
		cur = &struct {
			head  string
			inner []string
		}{head: m.Cmd + " " + keyShape(firstKey(m))}
	}
	flush()
	return t, nil
}

// firstKey is the first key a command names (for EVAL/EVALSHA the first
// of its KEYS).
func firstKey(m benchkit.MonitorLine) string {
	switch m.Cmd {
	case "EVAL", "EVALSHA":
		if len(m.Args) >= 3 && m.Args[1] != "0" {
			return m.Args[2]
		}
		return ""
	}
	if len(m.Args) > 0 {
		return m.Args[0]
	}
	return ""
}

var secretish = regexp.MustCompile(`[A-Za-z0-9_\-]{12,}`)

// keyShape drops the key prefix and the ids and hashes in a key:
// mcpoauth:{g:abc…}:grant → {g:…}:grant.
func keyShape(k string) string {
	k = strings.TrimPrefix(k, "mcpoauth:")
	return secretish.ReplaceAllString(k, "…")
}

// once sends one request of kind to in and checks its answer.
func once(hc *http.Client, kind string, in *instance, g *grant) error {
	w := &worker{}
	switch kind {
	case kindRefresh:
		refreshOnce(hc, w, in.origin(), g)
	case kindRegister:
		registerOnce(hc, w, in.origin())
	}
	if w.errs > 0 {
		return fmt.Errorf("%s on %s: %s", kind, in.name, strings.Join(w.samples, "; "))
	}
	return nil
}
