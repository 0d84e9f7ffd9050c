package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Step is one check's result.
type Step struct {
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// Detail says what was seen.
	Detail string `json:"detail"`
	// Rule is the spec rule the step checks.
	Rule string `json:"rule"`
	// Fix is the configuration change that makes a failing step pass.
	Fix string `json:"fix,omitempty"`
}

// Report is every step, in the order clients take them.
type Report struct {
	URL   string `json:"url"`
	Steps []Step `json:"steps"`
}

// OK reports whether every step passed.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if !s.Pass {
			return false
		}
	}
	return len(r.Steps) > 0
}

// Doctor runs the checks with an HTTP client that never follows redirects.
type Doctor struct {
	Client *http.Client
	// Origin is the browser origin of the CORS checks (MCP Inspector's).
	Origin string
}

// New returns a doctor on transport (nil: Go's default).
func New(transport http.RoundTripper) *Doctor {
	return &Doctor{Origin: "http://localhost:6274", Client: &http.Client{Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// run is one walk over a deployment.
type run struct {
	d      *Doctor
	ctx    context.Context
	rep    *Report
	mcpURL *url.URL
}

func (r *run) add(s Step) bool {
	r.rep.Steps = append(r.rep.Steps, s)
	return s.Pass
}

// Check walks the deployment at mcpURL.
func (d *Doctor) Check(ctx context.Context, mcpURL string) *Report {
	r := &run{d: d, ctx: ctx, rep: &Report{URL: mcpURL}}
	u, err := url.Parse(mcpURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.add(Step{Name: "mcp url", Detail: fmt.Sprintf("%q is not an http(s) URL", mcpURL),
			Rule: "MCP: the server URL is an https URL", Fix: "give the URL clients are configured with, e.g. https://mcp.example.com/github/mcp"})
		return r.rep
	}
	r.mcpURL = u
	prmURL, ok := r.challenge()
	if !ok {
		return r.rep
	}
	prm, ok := r.resourceMetadata(prmURL)
	if !ok {
		return r.rep
	}
	issuer, ok := r.authorizationServer(prm)
	if !ok {
		return r.rep
	}
	md, ok := r.serverMetadata(issuer)
	if !ok {
		return r.rep
	}
	r.cors(issuer, md)
	r.registrations(md)
	return r.rep
}

// reply is a response read whole (at most 1 MiB).
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r *run) do(method, target string, body any, hdr map[string]string) (*reply, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.d.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return &reply{status: resp.StatusCode, header: resp.Header, body: raw}, err
}

// getJSON GETs target and decodes a JSON object.
func (r *run) getJSON(target string) (map[string]any, int, error) {
	rep, err := r.do(http.MethodGet, target, nil, map[string]string{"Accept": "application/json"})
	if err != nil {
		return nil, 0, err
	}
	if rep.status != http.StatusOK {
		return nil, rep.status, fmt.Errorf("%s answered %d", target, rep.status)
	}
	var m map[string]any
	if err := json.Unmarshal(rep.body, &m); err != nil {
		return nil, rep.status, fmt.Errorf("%s is not a JSON object: %v", target, err)
	}
	return m, rep.status, nil
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func strs(m map[string]any, key string) []string {
	var out []string
	list, _ := m[key].([]any)
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Print writes the report as text: one line per step, then the rule and
// the fix of each failure.
func (rep *Report) Print(w io.Writer) {
	for _, s := range rep.Steps {
		mark := "PASS"
		if !s.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %s: %s\n", mark, s.Name, s.Detail)
		if !s.Pass {
			fmt.Fprintf(w, "      rule: %s\n", s.Rule)
			if s.Fix != "" {
				fmt.Fprintf(w, "      fix:  %s\n", s.Fix)
			}
		}
	}
	if rep.OK() {
		fmt.Fprintln(w, "all checks passed")
	}
}

// sameURL compares URLs as clients do: byte for byte.
func sameURL(a, b string) bool { return a == b }
