package caddymodule

import (
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// routePrefix finds where handler sits in a server's provisioned routes and
// returns the path prefix of the path matcher around it: "/github" for a
// gate inside `route /github/*` or `handle_path /github/*`. The walk reads
// the route tree once, after provisioning; it never changes it. ok is false
// when the handler was not found or a matcher around it is not a plain
// prefix (then the user sets `resource`).
func routePrefix(routes caddyhttp.RouteList, handler caddyhttp.MiddlewareHandler) (prefix string, found, ok bool) {
	for _, rt := range routes {
		p, plain := matcherPrefix(rt.MatcherSets)
		for _, h := range rt.Handlers {
			if h == handler {
				return p, true, plain
			}
			sr, isSub := h.(*caddyhttp.Subroute)
			if !isSub {
				continue
			}
			inner, f, innerPlain := routePrefix(sr.Routes, handler)
			if !f {
				continue
			}
			if p == "" {
				return inner, true, plain && innerPlain
			}
			// The outermost path matcher names the resource: inner ones are
			// either more of the same path or relative to a stripped prefix.
			return p, true, plain
		}
	}
	return "", false, true
}

// matcherPrefix returns the prefix of a route's only path matcher, "" when
// the route has no path matcher, and plain=false when it has several or a
// pattern that is not "/prefix/*" or "/prefix*".
func matcherPrefix(sets caddyhttp.MatcherSets) (string, bool) {
	var paths []string
	for _, set := range sets {
		for _, m := range set {
			switch mp := m.(type) {
			case caddyhttp.MatchPath:
				paths = append(paths, mp...)
			case *caddyhttp.MatchPath:
				paths = append(paths, (*mp)...)
			}
		}
	}
	if len(paths) == 0 {
		return "", true
	}
	if len(paths) > 1 || len(sets) > 1 {
		return "", false
	}
	return pathPatternPrefix(paths[0])
}

// pathPatternPrefix turns "/github/*", "/github*" or "/github" into
// "/github"; "/" and "*" into "".
func pathPatternPrefix(pattern string) (string, bool) {
	p := strings.TrimSuffix(pattern, "*")
	if strings.ContainsAny(p, "*?[{") || !strings.HasPrefix(p, "/") && p != "" {
		return "", false
	}
	return strings.TrimRight(p, "/"), true
}
