package oauthcore

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// pathHealth is the load balancer's health check.
const pathHealth = "/healthz"

// healthTimeout bounds one check: a load balancer asking every second
// must get an answer (503) well within its own timeout when the store
// hangs.
const healthTimeout = 500 * time.Millisecond

// Pinger is implemented by stores that can tell cheaply, without writing,
// whether they answer (Redis: PING). Stores without it are probed with a
// read of a consent that never exists.
type Pinger interface {
	Ping(ctx context.Context) error
}

// healthEndpoint answers /healthz: 200 {"status":"ok"} when the store
// answers, revocation announcements arrive and the signing keys are
// loaded, 503 with the reason otherwise. It never writes to the store.
type healthEndpoint struct {
	env    *env
	store  Store
	tokens *Tokens
}

type healthReply struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

func (h *healthEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	noStore(w.Header())
	reason, cause := h.check(r.Context())
	if reason == "" {
		writeJSON(w, http.StatusOK, healthReply{Status: "ok"})
		return
	}
	// The reason is ours; the cause (addresses, store messages) is logged
	// only, as every other outage's.
	h.env.log.WarnContext(r.Context(), "health check failed", "reason", reason, "cause", errText(cause))
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, healthReply{Status: "unavailable", Reason: reason})
}

// check returns "" when healthy, else what is wrong and its cause.
func (h *healthEndpoint) check(ctx context.Context) (string, error) {
	if h.tokens.keys != nil && h.tokens.keys.cur.Load() == nil {
		return "the signing keys are not loaded", nil
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := ping(ctx, h.store); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return "the store did not answer in time", err
		}
		return "the store is unavailable", err
	}
	if nh, ok := h.store.(NotifierHealth); ok && !nh.NotifierLive() {
		return "revocation announcements are not arriving from the store", nil
	}
	return "", nil
}

// ping asks the store to answer without changing it.
func ping(ctx context.Context, st Store) error {
	if p, ok := st.(Pinger); ok {
		return p.Ping(ctx)
	}
	_, err := st.HasConsent(ctx, "healthz")
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
