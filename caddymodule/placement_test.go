package caddymodule

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The gate learns which path it protects in one of two ways: from its own
// matcher (`mcp_oauth_verify /github/*`), when the Caddyfile is adapted, or
// from the path matcher of the route, handle or handle_path block around
// it, once provisioned. These tests drive both through Caddyfile
// adaptation.

// gateSite wraps a site body in a Caddyfile with the app it needs.
func gateSite(body string) string {
	return `{
	mcp_oauth {
		issuer https://auth.example.com
		github {
			client_id id
			client_secret secret
		}
	}
}
mcp.example.com {
` + body + `
}
`
}

// adaptedRoutes adapts a Caddyfile and returns the routes of its only
// server, as JSON.
func adaptedRoutes(t *testing.T, caddyfile string) []jsonRoute {
	t.Helper()
	out, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	if len(warn) > 0 {
		t.Logf("adapt warnings: %v", warn)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []jsonRoute `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps.HTTP.Servers) != 1 {
		t.Fatalf("want one server, got %d:\n%s", len(cfg.Apps.HTTP.Servers), out)
	}
	for _, srv := range cfg.Apps.HTTP.Servers {
		return srv.Routes
	}
	return nil
}

// jsonRoute is a route of adapted JSON, as far as placement cares.
type jsonRoute struct {
	Match  []map[string]json.RawMessage `json:"match"`
	Handle []json.RawMessage            `json:"handle"`
}

type jsonHandler struct {
	Handler       string      `json:"handler"`
	Routes        []jsonRoute `json:"routes"`
	ResourcePath  string      `json:"resource_path"`
	MetadataRoute bool        `json:"metadata_route"`
}

// gateRoute is one place a gate handler is reached: the path matchers of
// the routes around it (outermost first) and what it was told.
type gateRoute struct {
	paths   [][]string
	handler jsonHandler
}

// gateRoutes lists every route leading to an mcp_oauth_verify handler.
func gateRoutes(t *testing.T, routes []jsonRoute, outer [][]string) []gateRoute {
	t.Helper()
	var out []gateRoute
	for _, rt := range routes {
		paths := slices.Clone(outer)
		for _, m := range rt.Match {
			if raw, ok := m["path"]; ok {
				var p []string
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
		}
		for _, raw := range rt.Handle {
			var h jsonHandler
			if err := json.Unmarshal(raw, &h); err != nil {
				t.Fatal(err)
			}
			switch h.Handler {
			case "mcp_oauth_verify":
				out = append(out, gateRoute{paths: paths, handler: h})
			case "subroute":
				out = append(out, gateRoutes(t, h.Routes, paths)...)
			}
		}
	}
	return out
}

func TestGateMatcherFormLearnsItsPath(t *testing.T) {
	t.Parallel()
	const prm = "/.well-known/oauth-protected-resource"
	asMeta := []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}
	for _, tc := range []struct {
		name string
		body string
		// want is, per route reaching the gate (in order), its innermost
		// path matcher; resource is the gate's resource_path.
		want     [][]string
		resource string
		metadata bool
	}{
		{
			name: "a path prefix", body: "mcp_oauth_verify /github/*\nreverse_proxy 127.0.0.1:3000",
			want:     [][]string{append([]string{prm + "/github", prm + "/github/*", prm}, asMeta...), {"/github/*"}},
			resource: "/github", metadata: true,
		},
		{
			name: "a prefix without slash", body: "mcp_oauth_verify /tools*\nreverse_proxy 127.0.0.1:3000",
			want:     [][]string{append([]string{prm + "/tools", prm + "/tools/*", prm}, asMeta...), {"/tools*"}},
			resource: "/tools", metadata: true,
		},
		{
			name: "the whole site", body: "mcp_oauth_verify /*\nreverse_proxy 127.0.0.1:3000",
			want:     [][]string{append([]string{prm, prm + "/*"}, asMeta...), {"/*"}},
			resource: "", metadata: true,
		},
		{
			name: "no matcher", body: "mcp_oauth_verify\nreverse_proxy 127.0.0.1:3000",
			want: [][]string{nil},
		},
		{
			name: "a matcher that is no path prefix", body: "@api header X-Api 1\nmcp_oauth_verify @api\nreverse_proxy 127.0.0.1:3000",
			want: [][]string{nil},
		},
		{
			name: "a path pattern that is no prefix", body: "mcp_oauth_verify /gh*/mcp\nreverse_proxy 127.0.0.1:3000",
			want: [][]string{{"/gh*/mcp"}},
		},
		{
			name: "inside a route", body: "route /github/* {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}",
			want: [][]string{{"/github/*"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := gateRoutes(t, adaptedRoutes(t, gateSite(tc.body)), nil)
			if len(got) != len(tc.want) {
				t.Fatalf("%d routes reach the gate, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, g := range got {
				var inner []string
				if len(g.paths) > 0 {
					inner = g.paths[len(g.paths)-1]
				}
				if !slices.Equal(inner, tc.want[i]) {
					t.Errorf("route %d matches %q, want %q", i, inner, tc.want[i])
				}
				if g.handler.ResourcePath != tc.resource || g.handler.MetadataRoute != tc.metadata {
					t.Errorf("route %d: resource_path %q metadata_route %v, want %q %v", i,
						g.handler.ResourcePath, g.handler.MetadataRoute, tc.resource, tc.metadata)
				}
			}
		})
	}
}

func TestGateRouteFormLearnsItsPathFromTheRoute(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		body       string
		wantPrefix string
		wantPlain  bool
	}{
		{"route", "route /github/* {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}", "/github", true},
		{"handle", "handle /github/* {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}", "/github", true},
		{"handle_path", "handle_path /github/* {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}", "/github", true},
		{"a prefix without slash", "handle /tools* {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}", "/tools", true},
		{"the outermost path names the resource", "handle /api/* {\n\troute /api/github/* {\n\t\tmcp_oauth_verify\n\t\treverse_proxy 127.0.0.1:3000\n\t}\n}", "/api", true},
		{"an inner path under a pathless block", "handle {\n\troute /github/* {\n\t\tmcp_oauth_verify\n\t\treverse_proxy 127.0.0.1:3000\n\t}\n}", "/github", true},
		{"no route around it", "mcp_oauth_verify\nreverse_proxy 127.0.0.1:3000", "", true},
		{"two paths", "@two path /a/* /b/*\nroute @two {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}", "", false},
		{"a pattern", "route /gh*/mcp {\n\tmcp_oauth_verify\n\treverse_proxy 127.0.0.1:3000\n}", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			routes, gate := provisionedRoutes(t, adaptedRoutes(t, gateSite(tc.body)))
			if gate == nil {
				t.Fatal("no gate in the adapted routes")
			}
			prefix, found, plain := gatePrefix(routes, gate)
			if !found || prefix != tc.wantPrefix || plain != tc.wantPlain {
				t.Errorf("prefix %q found %v plain %v, want %q true %v", prefix, found, plain, tc.wantPrefix, tc.wantPlain)
			}
		})
	}
}

func TestGateNotInRoutes(t *testing.T) {
	t.Parallel()
	routes, _ := provisionedRoutes(t, adaptedRoutes(t, gateSite("route /github/* {\n\tmcp_oauth_verify\n}")))
	if _, found, _ := gatePrefix(routes, new(VerifyHandler)); found {
		t.Error("a gate that is not in the routes was found")
	}
}

// gatePrefix is the placement the gate computes from its server's routes
// on its first request.
func gatePrefix(routes caddyhttp.RouteList, gate *VerifyHandler) (prefix string, found, plain bool) {
	return routePrefix(routes, gate)
}

// provisionedRoutes builds the route tree Caddy would provision from
// adapted JSON: path matchers as caddyhttp.MatchPath, every other matcher
// as a host matcher (it only has to be no path), subroutes nested, the
// first gate as a *VerifyHandler and every other handler a stand-in.
func provisionedRoutes(t *testing.T, routes []jsonRoute) (caddyhttp.RouteList, *VerifyHandler) {
	t.Helper()
	var list caddyhttp.RouteList
	var gate *VerifyHandler
	for _, rt := range routes {
		var r caddyhttp.Route
		for _, m := range rt.Match {
			var set caddyhttp.MatcherSet
			for name, raw := range m {
				if name != "path" {
					set = append(set, caddyhttp.MatchHost{"example.com"})
					continue
				}
				var p caddyhttp.MatchPath
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Fatal(err)
				}
				set = append(set, p)
			}
			r.MatcherSets = append(r.MatcherSets, set)
		}
		for _, raw := range rt.Handle {
			var h jsonHandler
			if err := json.Unmarshal(raw, &h); err != nil {
				t.Fatal(err)
			}
			switch h.Handler {
			case "mcp_oauth_verify":
				g := new(VerifyHandler)
				if gate == nil {
					gate = g
				}
				r.Handlers = append(r.Handlers, g)
			case "subroute":
				inner, g := provisionedRoutes(t, h.Routes)
				if gate == nil {
					gate = g
				}
				r.Handlers = append(r.Handlers, &caddyhttp.Subroute{Routes: inner})
			default:
				r.Handlers = append(r.Handlers, standIn{})
			}
		}
		list = append(list, r)
	}
	return list, gate
}

// standIn is any handler that is neither a gate nor a subroute.
type standIn struct{}

func (standIn) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}
