package benchkit

import (
	"strings"
	"text/template"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// GitHubSecretEnv is the variable the measured Caddy reads the fake
// GitHub's client secret from.
const GitHubSecretEnv = "BENCH_GH_SECRET"

// GlobalOptions is the global options block of every measured Caddy: admin
// off unless profiling, no automatic HTTPS, WARN logs, and the mcp_oauth
// app logging alice in through a fake GitHub.
type GlobalOptions struct {
	Admin  string // host:port of the admin API; empty: admin off
	Issuer string
	// Extra are more lines of the mcp_oauth block (jwt_secret, storage,
	// registration_limit).
	Extra  []string
	GitHub *fakegithub.Server
}

var globalTmpl = template.Must(template.New("global").Parse(`{
{{- if .Admin}}
	admin {{.Admin}}
{{- else}}
	admin off
{{- end}}
	auto_https off
	grace_period 1s
	log {
		level WARN
	}
	mcp_oauth {
		issuer {{.Issuer}}
{{- range .Extra}}
		{{.}}
{{- end}}
		github {
			client_id {{.GitHub.ClientID}}
			client_secret {env.` + GitHubSecretEnv + `}
			allowed_users alice
			web_url {{.GitHub.URL}}
			api_url {{.GitHub.URL}}
		}
	}
}
`))

// String renders the block.
func (g GlobalOptions) String() string {
	var b strings.Builder
	if err := globalTmpl.Execute(&b, g); err != nil {
		panic(err) // the template and its data are fixed
	}
	return b.String()
}

// NoLimits lifts every rate limit of the mcp_oauth option: a benchmark
// sends one address's worth of traffic far beyond what the defaults allow
// a real client.
var NoLimits = []string{"registration_limit -1", "limits {",
	"\tauthorize_per_address -1", "\tcallback_per_address -1", "\ttoken_per_address -1",
	"\ttoken_per_client -1", "\tauth_failures_per_client -1", "}"}
