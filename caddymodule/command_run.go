package caddymodule

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// The subcommands of `caddy mcp-oauth` (command.go).

func runClientsList(cmd *cobra.Command, _ []string) error {
	q := flagValues(cmd, map[string]string{"name": "name", "redirect-host": "redirect_host"})
	q.Set("limit", "500")
	cs, err := listAll[oauthcore.ClientView](cmd, "/mcp_oauth/clients", q, "clients")
	if err != nil || jsonOut(cmd) {
		return orJSON(err, map[string]any{"clients": cs})
	}
	rows := make([][]string, len(cs))
	for i, c := range cs {
		rows[i] = []string{c.ID, c.Name, c.AuthMethod, strings.Join(c.RedirectURIs, " "), day(c.IssuedAt), day(c.ExpiresAt)}
	}
	return table("CLIENT_ID\tNAME\tAUTH\tREDIRECT_URIS\tISSUED\tEXPIRES", rows)
}

func runClientShow(cmd *cobra.Command, args []string) error {
	var c oauthcore.ClientView
	if err := adminCall(cmd, http.MethodGet, "/mcp_oauth/clients/"+url.PathEscape(args[0]), nil, &c); err != nil || jsonOut(cmd) {
		return orJSON(err, c)
	}
	return table("FIELD\tVALUE", [][]string{{"client_id", c.ID}, {"client_name", c.Name},
		{"token_endpoint_auth_method", c.AuthMethod}, {"redirect_uris", strings.Join(c.RedirectURIs, " ")},
		{"grant_types", strings.Join(c.GrantTypes, " ")}, {"scope", c.Scope}, {"issued_at", c.IssuedAt.Format(time.RFC3339)},
		{"expires_at", day(c.ExpiresAt)}, {"version", strconv.Itoa(c.Version)}})
}

func runClientDelete(cmd *cobra.Command, args []string) error {
	var out map[string]string
	if err := adminCall(cmd, http.MethodDelete, "/mcp_oauth/clients/"+url.PathEscape(args[0]), nil, &out); err != nil || jsonOut(cmd) {
		return orJSON(err, out)
	}
	fmt.Printf("deleted client %s and revoked its grants\n", args[0])
	return nil
}

func runGrantsList(cmd *cobra.Command, _ []string) error {
	q := flagValues(cmd, map[string]string{"user": "user", "client": "client"})
	q.Set("limit", "500")
	gs, err := listAll[oauthcore.GrantView](cmd, "/mcp_oauth/grants", q, "grants")
	if err != nil || jsonOut(cmd) {
		return orJSON(err, map[string]any{"grants": gs})
	}
	rows := make([][]string, len(gs))
	for i, g := range gs {
		rows[i] = []string{g.ID, g.Login, g.UserID, g.ClientID, g.Scope, g.Resource, day(g.CreatedAt), day(g.ExpiresAt)}
	}
	return table("GRANT_ID\tUSER\tUSER_ID\tCLIENT_ID\tSCOPE\tRESOURCE\tCREATED\tEXPIRES", rows)
}

func runRevoke(cmd *cobra.Command, _ []string) error {
	body := flagBody(cmd, "user", "client", "grant")
	if len(body) != 1 {
		return errors.New("give exactly one of --user <login|id>, --client <client_id>, --grant <grant_id>")
	}
	var out map[string]int
	if err := adminCall(cmd, http.MethodPost, "/mcp_oauth/revoke", body, &out); err != nil || jsonOut(cmd) {
		return orJSON(err, out)
	}
	fmt.Printf("revoked %d grant(s)\n", out["revoked"])
	return nil
}

func runStats(cmd *cobra.Command, _ []string) error {
	var st oauthcore.Stats
	if err := adminCall(cmd, http.MethodGet, "/mcp_oauth/stats", nil, &st); err != nil || jsonOut(cmd) {
		return orJSON(err, st)
	}
	return table("KIND\tCOUNT", [][]string{{"clients", strconv.Itoa(st.Clients)}, {"grants", strconv.Itoa(st.Grants)},
		{"users", strconv.Itoa(st.Users)}, {"cached_tokens", strconv.Itoa(st.CachedTokens)}})
}

func runRotateKey(cmd *cobra.Command, _ []string) error {
	var out struct {
		KID       string    `json:"kid"`
		Activates time.Time `json:"activates_at"`
	}
	if err := adminCall(cmd, http.MethodPost, "/mcp_oauth/rotate-key", nil, &out); err != nil || jsonOut(cmd) {
		return orJSON(err, out)
	}
	fmt.Printf("new signing key %s, published now, signing from %s\n", out.KID, out.Activates.Format(time.RFC3339))
	return nil
}

func runToken(cmd *cobra.Command, _ []string) error {
	body := flagBody(cmd, "user", "resource", "scope", "ttl")
	if body["user"] == "" || body["resource"] == "" {
		return errors.New("--user <login|id> and --resource <MCP server URL> are required")
	}
	var out tokenReply
	if err := adminCall(cmd, http.MethodPost, "/mcp_oauth/token", body, &out); err != nil || jsonOut(cmd) {
		return orJSON(err, out)
	}
	fmt.Println(out.AccessToken) // only the token: TOKEN=$(caddy mcp-oauth token ...)
	return nil
}

// orJSON returns err, or prints v as JSON.
func orJSON(err error, v any) error {
	if err != nil {
		return err
	}
	return printJSON(v)
}

// day formats a time as a date, "never" for zero.
func day(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02")
}

// flagValues maps the set flags to query parameters (flag -> parameter).
func flagValues(cmd *cobra.Command, params map[string]string) url.Values {
	q := url.Values{}
	for flag, v := range flagBody(cmd, slices.Collect(maps.Keys(params))...) {
		q.Set(params[flag], v)
	}
	return q
}

// flagBody is the set string flags among names, by name.
func flagBody(cmd *cobra.Command, names ...string) map[string]string {
	body := map[string]string{}
	for _, flag := range names {
		if v, _ := cmd.Flags().GetString(flag); v != "" {
			body[flag] = v
		}
	}
	return body
}
