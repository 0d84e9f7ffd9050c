package tokens

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// caddyfileTmpl is one instance: the authorization server alone, in plain
// http on loopback. Instances that share an issuer (several behind one
// public name) serve it on their own origin with the issuer of the first.
var caddyfileTmpl = template.Must(template.New("Caddyfile").Parse(`{{.Global}}
{{.Origin}} {
	bind 127.0.0.1
	mcp_oauth_server
}
`))

// instance is one Caddy serving the authorization server.
type instance struct {
	*caddyproc.Process
	name      string
	issuer    string // its own origin unless it shares another's issuer
	storage   string // the storage line; empty: the embedded bolt store
	gh        *fakegithub.Server
	admin     bool
	port      int
	adminPort int
}

func (in *instance) origin() string    { return fmt.Sprintf("http://127.0.0.1:%d", in.port) }
func (in *instance) adminAddr() string { return fmt.Sprintf("127.0.0.1:%d", in.adminPort) }
func (in *instance) logTail() string   { return in.LogTail(8 << 10) }

// boltPath is where the embedded store keeps its file by default: under
// Caddy's data directory ($XDG_DATA_HOME/caddy).
func (in *instance) boltPath() string {
	return filepath.Join(in.Home(), "data", "caddy", "mcp_oauth", "mcp_oauth.db")
}

// startInstance starts a Caddy. With shared set it is another instance of
// shared's authorization server: same issuer, same GitHub app, same store
// (which must then be Redis).
func startInstance(ctx context.Context, name string, env *benchkit.Env, storage string, gh *fakegithub.Server, shared *instance, admin bool) (*instance, error) {
	in := &instance{name: name, storage: storage, gh: gh, admin: admin}
	var err error
	in.Process, err = caddyproc.Start(ctx, caddyproc.Config{
		Bin: env.CaddyBin, Home: filepath.Join(env.Work, "caddy-"+name), Ports: 2,
		Caddyfile: func(ports []int) (string, error) {
			in.port, in.adminPort = ports[0], ports[1]
			in.issuer = in.origin()
			if shared != nil {
				in.issuer = shared.issuer
			} else {
				gh.SetCallbackURL(in.issuer + "/callback")
			}
			// The benchmark registers thousands of clients from one address.
			global := benchkit.GlobalOptions{Issuer: in.issuer, GitHub: gh, Extra: benchkit.NoLimits}
			if storage != "" {
				global.Extra = append(global.Extra, storage)
			}
			if admin {
				global.Admin = in.adminAddr()
			}
			data := map[string]any{"Global": global, "Origin": in.origin()}
			var b strings.Builder
			err := caddyfileTmpl.Execute(&b, data)
			return b.String(), err
		},
		Ready:    func([]int) string { return in.origin() + "/.well-known/oauth-authorization-server" },
		Env:      []string{benchkit.GitHubSecretEnv + "=" + gh.ClientSecret()},
		OwnGroup: true,
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}
