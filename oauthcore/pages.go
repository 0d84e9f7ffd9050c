package oauthcore

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
)

// pageStyle is the only styling of our pages. CSP allows exactly this block
// by hash, so no other inline style or script can run (AZ-02).
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.35rem}.card{border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
.warn{background:#fff8c5;border-color:#d4a72c}.muted{color:#59636e;font-size:.9rem}code{word-break:break-all}
dt{font-weight:600;margin-top:.5rem}dd{margin:0}.actions{display:flex;gap:.75rem;margin-top:1.25rem}
button{font-size:1rem;padding:.55rem 1.2rem;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button.approve{background:#1f883d;border-color:#1f883d;color:#fff}`

var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; frame-ancestors 'none'; base-uri 'none'"
}()

var pages = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title><style>` + pageStyle + `</style></head><body>
{{if .Consent}}{{template "consent" .Consent}}{{else}}{{template "error" .}}{{end}}
</body></html>
{{define "consent"}}<h1>Allow <span id="client-name">{{.ClientName}}</span> to use your account?</h1>
{{if .Verified}}<div class="card" id="client-verified"><strong>Verified application.</strong> It is published by
<code>{{.DocumentHost}}</code>, a site this server trusts.</div>
{{else if .DocumentHost}}<div class="card warn"><strong>Unverified application.</strong> It is published by
<code>{{.DocumentHost}}</code>; its name is what that site says about it. Approve only if you started this sign-in
and trust that site.</div>
{{else}}<div class="card warn"><strong>Unverified application.</strong> This client registered itself with this server;
its name is what it says about itself. Approve only if you started this sign-in.</div>{{end}}
<p>You are signing in to <strong id="server-name">{{.ServerName}}</strong>.</p>
<div class="card"><dl>
<dt>Application</dt><dd>{{.ClientName}} <span class="muted">(<code>{{.ClientID}}</code>)</span></dd>
{{if .DocumentHost}}<dt>Published by</dt><dd id="client-host"><code>{{.DocumentHost}}</code></dd>{{end}}
<dt>After you approve, you are sent to</dt><dd id="redirect-host"><code>{{.RedirectHost}}</code></dd>
{{if .AppScheme}}<dd class="muted" id="app-scheme">This is an app on this device: the sign-in goes to whichever app handles <code>{{.AppScheme}}:</code> links here.</dd>{{end}}
{{if .Loopback}}<dd class="muted" id="loopback-warning">This is a program on your own computer (a loopback address). Any program running on this computer could receive the sign-in.</dd>{{end}}
<dt>Access requested</dt><dd id="scopes">{{range .Scopes}}<code>{{.}}</code> {{end}}</dd>
{{if .ScopeTexts}}<dd class="muted" id="scope-descriptions">{{range .ScopeTexts}}<span><code>{{.Scope}}</code>: {{.Text}}</span><br>{{end}}</dd>{{end}}
{{if .Resource}}<dt>For the server</dt><dd><code>{{.Resource}}</code></dd>{{end}}
</dl><p class="muted">You will sign in with GitHub next. The application gets a token for this server, never your GitHub token.</p></div>
<form method="post" action="/consent">
<input type="hidden" name="flow" value="{{.FlowID}}"><input type="hidden" name="csrf" value="{{.CSRF}}">
<div class="actions"><button class="approve" type="submit" name="action" value="approve" id="approve">Approve</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button></div></form>{{end}}
{{define "error"}}<h1>{{.Title}}</h1><div class="card"><p id="error-code"><code>{{.Code}}</code></p><p id="error-description">{{.Description}}</p>
{{if .Link}}<p><a id="error-link" href="{{.Link}}">Authorize at GitHub</a></p>{{end}}</div>
<p class="muted">Return to the application and start the sign-in again.</p>{{end}}`))

type pageData struct {
	Title       string
	Code        string
	Description string
	Link        string
	Consent     *consentView
}

type consentView struct {
	ClientName string
	ClientID   string
	// DocumentHost is the host[:port] of a document client's client_id:
	// the site that vouches for it. Verified: it is a trusted host.
	DocumentHost string
	Verified     bool
	RedirectHost string
	// AppScheme names the private-use scheme when the redirect goes to a
	// native app (RFC 8252 §7.1) rather than to a web address.
	AppScheme string
	Loopback  bool
	Scopes    []string
	// ScopeTexts say what the requested scopes allow (those described).
	ScopeTexts []scopeText
	// ServerName is what the user grants access to.
	ServerName string
	Resource   string
	FlowID     string
	CSRF       string
}

// scopeText is one scope and what it allows, in words.
type scopeText struct{ Scope, Text string }

// pageHeaders are set on every HTML page and on browser redirects: no
// caching, no referrer, no framing (AZ-11, CD-04).
func pageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", pageCSP)
}

func renderPage(w http.ResponseWriter, status int, data pageData) {
	var buf bytes.Buffer
	if err := pages.Execute(&buf, data); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("internal error")
	}
	pageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows a refusal as the error page, with its Retry-After.
func renderError(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	renderPage(w, e.Status, pageData{Title: "Sign-in cannot continue", Code: string(e.Code), Description: e.Description, Link: e.Link})
}
