package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Chromium. Without it the browser test fails on CI
// (CI=true) and is skipped elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	// Never a skip: a missing browser must not turn a run green
	// (scripts/test.sh installs it).
	t.Fatal("chromium not found: install it (apt-get install -y chromium, or run scripts/test.sh) to run the browser test")
	return ""
}

// TestBrowserConsentFlow drives headless Chromium through the consent page
// like a person: it reads the page (client name, where the code goes,
// what is asked), clicks Approve, passes GitHub and lands on the client's
// loopback redirect URI with code, state and iss; the code then redeems.
func TestBrowserConsentFlow(t *testing.T) {
	chromium := chromiumPath(t)
	t.Parallel()
	e := newEnv(t, caddyConfig{})

	received := make(chan url.Values, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		received <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Signed in</title><p id="done">Signed in. You can close this window.</p>`)
	}))
	t.Cleanup(app.Close)
	redirect := app.URL + "/callback"
	m := clientMeta(basic, redirect)
	m["client_name"] = "Browser Test Client"
	c := e.registerMeta(m)
	a := newAuthReq(c)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.IgnoreCertErrors, // test only: Caddy's internal CA
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 800),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)

	if err := chromedp.Do(ctx, chromedp.Navigate(e.url(a.path())), chromedp.WaitVisible(chromedp.ID("approve"))); err != nil {
		t.Fatalf("opening the consent page: %v", err)
	}
	read := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("reading #%s: %v", id, err)
		}
		return strings.TrimSpace(s)
	}
	appURL, _ := url.Parse(app.URL)
	if got := read("client-name"); got != "Browser Test Client" {
		t.Errorf("visible client name %q", got)
	}
	if got := read("redirect-host"); got != appURL.Host {
		t.Errorf("visible redirect host %q, want %q", got, appURL.Host)
	}
	if got := read("scopes"); got != "mcp" {
		t.Errorf("visible scopes %q, want mcp", got)
	}
	if got := read("loopback-warning"); !strings.Contains(got, "loopback") {
		t.Errorf("visible loopback warning %q", got)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil || !strings.Contains(body, "Unverified application") || !strings.Contains(body, "Deny") {
		t.Errorf("page text lacks the unverified marker or the Deny button (%v):\n%s", err, body)
	}
	saveScreenshot(t, ctx)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("approve"))); err != nil {
		t.Fatalf("clicking Approve: %v", err)
	}
	var q url.Values
	select {
	case q = <-received:
	case <-time.After(15 * time.Second):
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("after Approve the client's redirect URI was never reached; the browser is at %s showing %q", loc,
			strings.Join(strings.Fields(page), " "))
	}
	if q.Get("code") == "" || q.Get("state") != a.Query.Get("state") || q.Get("iss") != e.issuer {
		t.Fatalf("the client received %v", q)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Errorf("the client's page did not render: %v", err)
	}
	f := &flow{Req: a, Code: q.Get("code")}
	e.remember(f.Code)
	tok := e.exchange(c, f)
	if !e.active(c, tok.Access) {
		t.Error("the browser flow's access token is not active")
	}
}

// saveScreenshot keeps a full-page PNG of the consent page in the test's
// temp dir, and in docs/consent.png when UPDATE_SCREENSHOT=1.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	path := filepath.Join(t.TempDir(), "consent.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
	if os.Getenv("UPDATE_SCREENSHOT") != "1" {
		return
	}
	dir := filepath.Join("..", "docs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "consent.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", filepath.Join(dir, "consent.png"))
}
