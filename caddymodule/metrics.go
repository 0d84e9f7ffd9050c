package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// The Prometheus metrics of the plugin, in Caddy's registry (served where
// Caddy serves its own: the admin endpoint's /metrics, or a `metrics`
// handler). The collectors are built once per process and registered
// again with each config's registry, so values survive a reload. Every
// label is from a bounded set: outcomes are "ok" or RFC error codes, the
// gate's resource is the configured one, never a path or a user. The
// family names are fixed (README, dashboards and tests use them).
var metrics = newMetricSet()

type metricSet struct {
	registrations  *prometheus.CounterVec
	authorizations *prometheus.CounterVec
	tokenRequests  *prometheus.CounterVec
	refreshReuse   prometheus.Counter
	revocations    *prometheus.CounterVec
	gateRequests   *prometheus.CounterVec
	storeDuration  *prometheus.HistogramVec
	storeErrors    *prometheus.CounterVec
	githubRequests *prometheus.CounterVec
	githubDuration *prometheus.HistogramVec
	cimdFetches    *prometheus.CounterVec
	cache          []prometheus.Collector
}

func newMetricSet() *metricSet {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mcp_oauth_" + name, Help: help}, labels)
	}
	m := &metricSet{
		registrations:  counter("registrations_total", "Dynamic client registrations (POST /register) by outcome: ok or the RFC 7591 error code.", "outcome"),
		authorizations: counter("authorizations_total", "Browser authorization steps by outcome: consent_shown, consent_approved, consent_denied, github_ok, github_denied, github_failed.", "outcome"),
		tokenRequests:  counter("token_requests_total", "Token endpoint requests by grant type (authorization_code, refresh_token, other) and outcome: ok or the RFC 6749 error code.", "grant_type", "outcome"),
		refreshReuse: prometheus.NewCounter(prometheus.CounterOpts{Name: "mcp_oauth_refresh_reuse_total",
			Help: "Rotated refresh tokens presented again after the grace window; each revoked its grant."}),
		revocations:  counter("revocations_total", "Revocations by kind: access_token and grant (POST /revoke), client and user (admin API).", "kind"),
		gateRequests: counter("gate_requests_total", "Requests checked by mcp_oauth_verify, by configured resource and outcome: ok, no_token, invalid_request, invalid_token, insufficient_scope, temporarily_unavailable, refused.", "resource", "outcome"),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mcp_oauth_store_duration_seconds",
			Help:    "Latency of store operations by store (bolt, redis) and operation.",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"store", "op"}),
		storeErrors:    counter("store_errors_total", "Store operations that failed (outages, not missing records), by store and operation.", "store", "op"),
		githubRequests: counter("github_requests_total", "Calls to GitHub by endpoint (token, user, users, orgs, other) and outcome: ok, http_4xx, http_5xx, failed.", "endpoint", "outcome"),
		githubDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mcp_oauth_github_duration_seconds",
			Help: "Latency of calls to GitHub by endpoint.", Buckets: prometheus.DefBuckets}, []string{"endpoint"}),
		cimdFetches: counter("cimd_fetches_total", "Client ID Metadata Document fetches by outcome: ok, invalid_url, forbidden, invalid_document, fetch_failed, timeout, busy.", "outcome"),
	}
	m.cache = []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mcp_oauth_gate_cache_hits_total",
			Help: "Gate token checks answered from the verified-token cache (no store round trip)."}, cacheStat(0)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mcp_oauth_gate_cache_misses_total",
			Help: "Gate token checks that verified the signature and asked the store about revocation."}, cacheStat(1)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mcp_oauth_gate_cache_entries",
			Help: "Verified tokens in the gate's cache now."}, cacheStat(2)),
	}
	return m
}

// collectors lists every collector of the set.
func (m *metricSet) collectors() []prometheus.Collector {
	return append([]prometheus.Collector{m.registrations, m.authorizations, m.tokenRequests, m.refreshReuse,
		m.revocations, m.gateRequests, m.storeDuration, m.storeErrors, m.githubRequests, m.githubDuration,
		m.cimdFetches}, m.cache...)
}

// register adds the set to a config's registry; registering it again (a
// second app in one config cannot happen, a reload gets a new registry)
// is harmless.
func (m *metricSet) register(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range m.collectors() {
		var are prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &are) {
			return err
		}
	}
	return nil
}

// runningVerifier is the verifier of the app that started last: the
// cache metrics read it. A reload starts the new app before it stops the
// old one, so the old one only clears it if it is still its own.
var runningVerifier atomic.Pointer[oauthcore.Verifier]

func cacheStat(which int) func() float64 {
	return func() float64 {
		v := runningVerifier.Load()
		if v == nil {
			return 0
		}
		hits, misses, entries := v.CacheStats()
		return [3]float64{float64(hits), float64(misses), float64(entries)}[which]
	}
}

// The oauthcore.Metrics events.

func (m *metricSet) Registration(outcome string)  { m.registrations.WithLabelValues(outcome).Inc() }
func (m *metricSet) Authorization(outcome string) { m.authorizations.WithLabelValues(outcome).Inc() }
func (m *metricSet) TokenRequest(grantType, outcome string) {
	m.tokenRequests.WithLabelValues(grantType, outcome).Inc()
}
func (m *metricSet) RefreshReuse()          { m.refreshReuse.Inc() }
func (m *metricSet) Revocation(kind string) { m.revocations.WithLabelValues(kind).Inc() }
func (m *metricSet) cimdFetch(outcome string) {
	m.cimdFetches.WithLabelValues(outcome).Inc()
}

// gate counts one decision of a gate protecting resource.
func (m *metricSet) gate(resource string, err error) {
	m.gateRequests.WithLabelValues(resource, oauthcore.GateOutcome(err)).Inc()
}

// githubTransport times and counts every call to GitHub.
type githubTransport struct{ next http.RoundTripper }

func (t githubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	endpoint := githubEndpoint(r.URL.Path)
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	metrics.githubDuration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	outcome := "failed"
	if err == nil {
		outcome = "ok"
		if resp.StatusCode >= 400 {
			outcome = "http_" + strconv.Itoa(resp.StatusCode/100) + "xx"
		}
	}
	metrics.githubRequests.WithLabelValues(endpoint, outcome).Inc()
	return resp, err
}

// githubEndpoint names a GitHub URL path by its kind, never by the user
// or org in it (GitHub Enterprise Server puts the API under /api/v3).
func githubEndpoint(path string) string {
	path = strings.TrimPrefix(path, "/api/v3")
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case strings.HasSuffix(path, "/login/oauth/access_token"):
		return "token"
	case seg == "user", seg == "users", seg == "orgs", seg == "teams":
		return seg
	}
	return "other"
}

// Interface guards
var _ oauthcore.Metrics = (*metricSet)(nil)

// instrument registers the metrics with the config's registry and
// returns the store and server options that feed them.
func instrument(ctx caddy.Context, st StoreProvider, opts oauthcore.Options) (oauthcore.Store, oauthcore.Options, error) {
	if err := metrics.register(ctx.GetMetricsRegistry()); err != nil {
		return nil, opts, fmt.Errorf("mcp_oauth: registering metrics: %w", err)
	}
	name := "store"
	if mod, ok := st.(caddy.Module); ok {
		name = mod.CaddyModule().ID.Name()
	}
	opts.Metrics = metrics
	opts.GitHubTransport = githubTransport{http.DefaultTransport}
	opts.ClientIDMetadata = func(c *cimd.Config) { c.OnFetch = metrics.cimdFetch }
	return measure(st.Store(), name), opts, nil
}

// metricsResource is the gate's resource label: its configured resource
// URL or path, never one learned from a request (a Host header would make
// the label set unbounded).
func (h *VerifyHandler) metricsResource() string {
	switch {
	case h.Resource != "":
		return h.Resource
	case h.ResourcePath != "":
		return h.ResourcePath
	}
	return "/"
}
