package caddymodule

import (
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"
)

// learnResourceSpace bounds the resources tokens are issued for, when the
// resources option is not set, to the hosts this config's gates protect:
// it reads the http app's servers, provisioned by now, and collects
//
//   - for each mcp_oauth_verify: the host of its resource option, or else
//     the hosts of the site around it (its host matchers; a site without
//     one answers every host its listener address allows);
//   - for each forward_auth to /verify (a reverse_proxy that rewrites to
//     /verify): the host of its ?resource=, and the hosts of its site,
//     whose requests /verify rebuilds from X-Forwarded-Host.
//
// The issuer's host is always in the space (oauthcore adds it). The
// result replaces the space the server checks at /authorize, so a reload
// takes the new sites at once.
func (a *App) learnResourceSpace() {
	if len(a.cfg.Resources) > 0 || a.cfg.ResourceSpace == nil {
		return
	}
	w := &spaceWalker{hosts: map[string]bool{}}
	if app, err := a.ctx.AppIfConfigured("http"); err == nil {
		if httpApp, ok := app.(*caddyhttp.App); ok {
			for _, srv := range httpApp.Servers {
				w.routes(srv, srv.Routes, nil)
			}
		}
	}
	hosts := make([]string, 0, len(w.hosts))
	for h := range w.hosts {
		hosts = append(hosts, h)
	}
	a.cfg.ResourceSpace.Set(hosts)
	if w.hosts["*"] {
		a.logger.Info("a gate answers requests for any host, so tokens may be issued for resources on any host; set resources (or give the site a host) to narrow that")
		return
	}
	a.logger.Info("tokens are issued for resources on the hosts this config's gates protect and the issuer's",
		zap.Strings("hosts", a.cfg.ResourceSpace.Hosts()))
}

// spaceWalker collects the hosts of a route tree's gates.
type spaceWalker struct {
	hosts map[string]bool // "*" for every host
}

// routes walks routes whose enclosing host matchers allow hosts (nil:
// any host).
func (w *spaceWalker) routes(srv *caddyhttp.Server, routes caddyhttp.RouteList, hosts []string) {
	for _, rt := range routes {
		inner := hosts
		if mh, ok := matcherHosts(rt.MatcherSets); ok {
			inner = mh
		}
		for _, h := range rt.Handlers {
			switch v := h.(type) {
			case *VerifyHandler:
				if v.Resource != "" {
					w.addURL(v.Resource)
				} else {
					w.siteHosts(srv, inner)
				}
			case *reverseproxy.Handler:
				if res, ok := verifyRewrite(v); ok {
					if res != "" {
						w.addURL(res)
					}
					w.siteHosts(srv, inner)
				}
			case *caddyhttp.Subroute:
				w.routes(srv, v.Routes, inner)
			}
		}
	}
}

// siteHosts adds the hosts a site answers: its host matchers, else the
// hosts its server listens on (every host for a wildcard address).
func (w *spaceWalker) siteHosts(srv *caddyhttp.Server, hosts []string) {
	if hosts != nil {
		for _, h := range hosts {
			if strings.Contains(h, "{") {
				h = "*" // a placeholder: any host may match at run time
			}
			w.hosts[strings.ToLower(h)] = true
		}
		return
	}
	for _, l := range srv.Listen {
		na, err := caddy.ParseNetworkAddress(l)
		if err != nil || na.Host == "" || na.IsUnixNetwork() || na.IsFdNetwork() {
			w.hosts["*"] = true
			continue
		}
		w.hosts[strings.ToLower(na.Host)] = true
		if na.Host == "127.0.0.1" || na.Host == "::1" {
			w.hosts["localhost"] = true
		}
	}
}

func (w *spaceWalker) addURL(raw string) {
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		w.hosts[strings.ToLower(u.Hostname())] = true
	}
}

// matcherHosts returns the hosts a route's matcher sets allow, and false
// when some set has no host matcher (the route allows the enclosing
// hosts).
func matcherHosts(sets caddyhttp.MatcherSets) ([]string, bool) {
	if len(sets) == 0 {
		return nil, false
	}
	var hosts []string
	for _, set := range sets {
		found := false
		for _, m := range set {
			switch mh := m.(type) {
			case caddyhttp.MatchHost:
				hosts, found = append(hosts, mh...), true
			case *caddyhttp.MatchHost:
				hosts, found = append(hosts, (*mh)...), true
			}
		}
		if !found {
			return nil, false
		}
	}
	return hosts, true
}

// verifyRewrite reports whether a reverse_proxy is a forward_auth to this
// plugin's /verify (its rewrite's path is /verify), and the resource its
// query names, if any.
func verifyRewrite(h *reverseproxy.Handler) (resource string, ok bool) {
	if h.Rewrite == nil || h.Rewrite.URI == "" {
		return "", false
	}
	u, err := url.Parse(h.Rewrite.URI)
	if err != nil || u.Path != "/verify" {
		return "", false
	}
	return u.Query().Get("resource"), true
}
