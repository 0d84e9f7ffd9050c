package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI serves the operator's routes under /mcp_oauth/ on Caddy's admin
// endpoint, so they are protected as the rest of that API is: its own
// listener (localhost:2019 by default), Caddy's origin checks, and mTLS
// for remote admin when configured. Nothing it returns holds a secret or a
// hash. The `caddy mcp-oauth` commands call it.
//
//	GET    /mcp_oauth/clients?name=&redirect_host=&cursor=&limit=
//	GET    /mcp_oauth/clients/{id}
//	DELETE /mcp_oauth/clients/{id}      (revokes its grants too)
//	GET    /mcp_oauth/grants?user=&client=&cursor=&limit=
//	POST   /mcp_oauth/revoke            {"user": "<login|id>"} | {"client": "<id>"} | {"grant": "<id>"}
//	GET    /mcp_oauth/stats
//	POST   /mcp_oauth/rotate-key
//	POST   /mcp_oauth/token             {"user", "resource", "scope", "ttl"}
type AdminAPI struct {
	app *App
	log *zap.Logger
	// audit is the mcp_oauth.audit logger: every change made through
	// the admin API, and every token it mints (never the token).
	audit *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.mcp_oauth", New: func() caddy.Module { return new(AdminAPI) }}
}

// Provision finds the mcp_oauth app, if the config has one; loading the
// admin API never creates an empty app.
func (a *AdminAPI) Provision(ctx caddy.Context) error {
	a.log = ctx.Logger()
	a.audit = caddy.Log().Named("mcp_oauth.audit")
	if app, err := ctx.AppIfConfigured("mcp_oauth"); err == nil {
		a.app = app.(*App)
	}
	return nil
}

// adminPrefix is where the routes live on the admin endpoint.
const adminPrefix = "/mcp_oauth/"

// Routes returns the admin routes.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: adminPrefix, Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// serve routes one request.
func (a *AdminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	if a.app == nil || a.app.Server() == nil {
		return apiError(http.StatusNotFound, "this config has no mcp_oauth app")
	}
	adm := a.app.Server().Admin()
	path := strings.TrimPrefix(r.URL.Path, adminPrefix)
	switch {
	case path == "clients":
		return a.method(w, r, "GET", func() (any, error) { return a.listClients(r, adm) })
	case strings.HasPrefix(path, "clients/") && len(path) > len("clients/"):
		return a.client(w, r, adm, strings.TrimPrefix(path, "clients/"))
	case path == "grants":
		return a.method(w, r, "GET", func() (any, error) { return a.listGrants(r, adm) })
	case path == "revoke":
		return a.method(w, r, "POST", func() (any, error) { return a.revoke(r, adm) })
	case path == "stats":
		return a.method(w, r, "GET", func() (any, error) { return adm.Stats(r.Context()) })
	case path == "rotate-key":
		return a.method(w, r, "POST", func() (any, error) { return a.rotateKey(r, adm) })
	case path == "token":
		return a.method(w, r, "POST", func() (any, error) { return a.mintToken(r, adm) })
	}
	return apiError(http.StatusNotFound, "no such route: "+r.URL.Path+" (see GET /mcp_oauth/clients, /grants, /stats)")
}

// method answers 405 for any other method, else runs fn and writes its
// result as JSON.
func (a *AdminAPI) method(w http.ResponseWriter, r *http.Request, method string, fn func() (any, error)) error {
	if r.Method != method {
		w.Header().Set("Allow", method)
		return apiError(http.StatusMethodNotAllowed, "use "+method+" for "+r.URL.Path)
	}
	v, err := fn()
	if err != nil {
		return a.fail(r, err)
	}
	return writeAdminJSON(w, http.StatusOK, v)
}

func (a *AdminAPI) client(w http.ResponseWriter, r *http.Request, adm *oauthcore.Admin, id string) error {
	switch r.Method {
	case http.MethodGet:
		c, err := adm.Client(r.Context(), id)
		if err != nil {
			return a.fail(r, err)
		}
		return writeAdminJSON(w, http.StatusOK, c)
	case http.MethodDelete:
		if err := adm.DeleteClient(r.Context(), id); err != nil {
			return a.fail(r, err)
		}
		a.audited(r, "client deleted", zap.String("client_id", id))
		return writeAdminJSON(w, http.StatusOK, map[string]string{"deleted": id})
	}
	w.Header().Set("Allow", "GET, DELETE")
	return apiError(http.StatusMethodNotAllowed, "use GET or DELETE for "+r.URL.Path)
}

type clientPage struct {
	Clients []oauthcore.ClientView `json:"clients"`
	Next    string                 `json:"next_cursor,omitempty"`
}

type grantPage struct {
	Grants []oauthcore.GrantView `json:"grants"`
	Next   string                `json:"next_cursor,omitempty"`
}

func (a *AdminAPI) listClients(r *http.Request, adm *oauthcore.Admin) (any, error) {
	q := r.URL.Query()
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return nil, err
	}
	f := oauthcore.Filter{Name: q.Get("name"), RedirectHost: q.Get("redirect_host")}
	cs, next, err := adm.Clients(r.Context(), f, q.Get("cursor"), limit)
	return clientPage{cs, next}, err
}

func (a *AdminAPI) listGrants(r *http.Request, adm *oauthcore.Admin) (any, error) {
	q := r.URL.Query()
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return nil, err
	}
	gs, next, err := adm.Grants(r.Context(), oauthcore.Filter{User: q.Get("user"), Client: q.Get("client")}, q.Get("cursor"), limit)
	return grantPage{gs, next}, err
}

// Page sizes: default and most.
const (
	defaultPage = 50
	maxPage     = 500
)

func pageLimit(v string) (int, error) {
	if v == "" {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, apiError(http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d, not %q", maxPage, v))
	}
	return n, nil
}

type revokeRequest struct {
	User   string `json:"user"`
	Client string `json:"client"`
	Grant  string `json:"grant"`
}

func (a *AdminAPI) revoke(r *http.Request, adm *oauthcore.Admin) (any, error) {
	var req revokeRequest
	if err := decodeAdminBody(r, &req); err != nil {
		return nil, err
	}
	n := 0
	for _, v := range []string{req.User, req.Client, req.Grant} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, apiError(http.StatusBadRequest, `send exactly one of {"user": "<login or id>"}, {"client": "<client_id>"}, {"grant": "<grant_id>"}`)
	}
	var count int
	var err error
	switch {
	case req.Grant != "":
		count, err = 1, adm.RevokeGrant(r.Context(), req.Grant, "grant")
	case req.User != "":
		count, err = adm.Revoke(r.Context(), oauthcore.Filter{User: req.User}, "user")
	default:
		count, err = adm.Revoke(r.Context(), oauthcore.Filter{Client: req.Client}, "client")
	}
	if err != nil {
		return nil, err
	}
	a.audited(r, "grants revoked", zap.String("user", req.User), zap.String("client_id", req.Client),
		zap.String("grant_id", req.Grant), zap.Int("revoked", count))
	return map[string]int{"revoked": count}, nil
}

func (a *AdminAPI) rotateKey(r *http.Request, adm *oauthcore.Admin) (any, error) {
	kid, at, err := adm.RotateKey(r.Context())
	if err != nil {
		return nil, err
	}
	a.audited(r, "signing key rotated", zap.String("kid", kid), zap.Time("activates_at", at))
	return map[string]any{"kid": kid, "activates_at": at}, nil
}

type tokenRequest struct {
	User     string `json:"user"`
	Resource string `json:"resource"`
	Scope    string `json:"scope"`
	TTL      string `json:"ttl"`
}

type tokenReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Resource    string `json:"resource"`
	JTI         string `json:"jti"`
}

func (a *AdminAPI) mintToken(r *http.Request, adm *oauthcore.Admin) (any, error) {
	var req tokenRequest
	if err := decodeAdminBody(r, &req); err != nil {
		return nil, err
	}
	var ttl time.Duration
	if req.TTL != "" {
		var err error
		if ttl, err = parseDuration(req.TTL); err != nil || ttl <= 0 {
			return nil, apiError(http.StatusBadRequest, fmt.Sprintf("ttl %q is not a positive duration (30m, 1h)", req.TTL))
		}
	}
	raw, c, err := adm.MintToken(r.Context(), oauthcore.TokenRequest{User: req.User, Resource: req.Resource, Scope: req.Scope, TTL: ttl})
	if err != nil {
		a.audited(r, "test token refused", zap.String("user", req.User), zap.String("resource", req.Resource), zap.Error(err))
		return nil, err
	}
	a.audited(r, "test token minted", zap.String("user", req.User), zap.String("github_id", c.Subject),
		zap.String("resource", c.Aud()), zap.String("scope", c.Scope), zap.String("jti", c.ID), zap.Time("expires_at", c.ExpiresAt.Time))
	return tokenReply{AccessToken: raw, TokenType: "Bearer", ExpiresIn: int64(time.Until(c.ExpiresAt.Time).Round(time.Second).Seconds()),
		Scope: c.Scope, Resource: c.Aud(), JTI: c.ID}, nil
}

// decodeAdminBody reads a JSON object of at most 16 KiB with no unknown
// fields.
func decodeAdminBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10+1))
	if err != nil || len(body) > 16<<10 {
		return apiError(http.StatusBadRequest, "the body must be a JSON object of at most 16 KiB")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiError(http.StatusBadRequest, "the body is not the expected JSON object: "+err.Error())
	}
	return nil
}

// fail maps an admin operation's error to the admin API's JSON error:
// refusals say why; outages are 503 with the cause logged, not sent.
func (a *AdminAPI) fail(r *http.Request, err error) error {
	var api caddy.APIError
	var oe *oauthcore.Error
	switch {
	case errors.As(err, &api):
		return api
	case errors.Is(err, oauthcore.ErrNotFound):
		return apiError(http.StatusNotFound, "not found (unknown, expired or revoked)")
	case errors.Is(err, oauthcore.ErrInvalidCursor):
		return apiError(http.StatusBadRequest, "cursor is not one this listing returned")
	case errors.Is(err, oauthcore.ErrNoKeys):
		return apiError(http.StatusConflict, err.Error())
	case errors.As(err, &oe) && oe.Status < 500:
		return apiError(oe.Status, string(oe.Code)+": "+oe.Description)
	}
	a.log.Error("admin request failed", zap.String("path", r.URL.Path), zap.Error(err))
	return apiError(http.StatusServiceUnavailable, "the store is unavailable; see Caddy's log")
}

// audited logs an admin action to mcp_oauth.audit with who asked (the
// admin listener's peer).
func (a *AdminAPI) audited(r *http.Request, msg string, fields ...zap.Field) {
	a.audit.Info(msg, append(fields, zap.String("remote_addr", r.RemoteAddr))...)
}

func apiError(status int, msg string) error {
	return caddy.APIError{HTTPStatus: status, Err: errors.New(msg), Message: msg}
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Interface guards
var (
	_ caddy.Provisioner = (*AdminAPI)(nil)
	_ caddy.AdminRouter = (*AdminAPI)(nil)
)
