package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// `caddy mcp-oauth ...` talks to the running Caddy's admin API (the
// /mcp_oauth/ routes of admin.go), the way `caddy reload` does: the bolt
// file is locked by that process, and a Redis deployment has several.
// Nothing prompts, so scripts can run the commands; any refusal exits
// non-zero with the admin API's reason.

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "mcp-oauth",
		Usage: "clients|grants|revoke|stats|rotate-key|token|doctor|login [--address <admin>] [--json]",
		Short: "Manages the MCP OAuth server of a running Caddy through its admin API",
		Long: `
Lists and deletes client registrations, lists and revokes grants (a user's
access through one client), shows counts, rotates the signing key, and
mints short-lived access tokens for testing a gated MCP server with curl.

Every subcommand calls the admin API of the running Caddy, at
` + caddy.DefaultAdminListen + ` unless --address (or --config, to read
it from a config) says otherwise. Output is a table, or JSON with --json.`,
		CobraFunc: mcpOAuthCommands,
	})
}

func mcpOAuthCommands(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("address", "", "Address of the administration API listener (if --config is not used)")
	pf.StringP("config", "c", "", "Configuration file to read the admin address from (if --address is not used)")
	pf.StringP("adapter", "a", "", "Name of config adapter to apply (if --config is used)")
	pf.Bool("json", false, "Print JSON instead of a table")

	clients := &cobra.Command{Use: "clients", Short: "Lists, shows and deletes client registrations"}
	list := sub("list", "Lists clients (all pages)", cobra.NoArgs, runClientsList)
	list.Flags().String("name", "", "Only clients whose name contains this (case-insensitive)")
	list.Flags().String("redirect-host", "", "Only clients with a redirect URI on this host")
	clients.AddCommand(list,
		sub("show <client_id>", "Shows one client", cobra.ExactArgs(1), runClientShow),
		sub("delete <client_id>", "Deletes a client and revokes its grants", cobra.ExactArgs(1), runClientDelete))

	grants := &cobra.Command{Use: "grants", Short: "Lists grants"}
	glist := sub("list", "Lists grants (all pages)", cobra.NoArgs, runGrantsList)
	glist.Flags().String("user", "", "Only grants of this GitHub login or id")
	glist.Flags().String("client", "", "Only grants of this client id")
	grants.AddCommand(glist)

	revoke := sub("revoke", "Revokes one grant, every grant of a user, or every grant of a client", cobra.NoArgs, runRevoke)
	revoke.Flags().String("user", "", "GitHub login or numeric id")
	revoke.Flags().String("client", "", "Client id")
	revoke.Flags().String("grant", "", "Grant id")

	token := sub("token", "Mints a short-lived access token for an allowed user; prints only the token", cobra.NoArgs, runToken)
	token.Flags().String("user", "", "GitHub login or numeric id (required)")
	token.Flags().String("resource", "", "URL of the MCP server the token is for (required)")
	token.Flags().String("scope", "", "Scopes, space-separated (default: the server's default scope)")
	token.Flags().String("ttl", "1h", "Lifetime, at most access_token_lifetime")

	cmd.AddCommand(clients, grants, revoke, token, doctorCommand(), loginCommand(),
		sub("stats", "Counts clients, grants and users", cobra.NoArgs, runStats),
		sub("rotate-key", "Adds a new signing key now (it signs after a short delay)", cobra.NoArgs, runRotateKey))
}

// sub builds a subcommand whose run returns what to print or an error.
func sub(use, short string, args cobra.PositionalArgs, run func(*cobra.Command, []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, SilenceUsage: true, RunE: run}
}

// adminCall sends one request to the admin API and decodes its JSON
// answer into out (when not nil). A refusal is an error with the API's
// message.
func adminCall(cmd *cobra.Command, method, path string, body, out any) error {
	fl := cmd.Flags()
	address, _ := fl.GetString("address")
	config, _ := fl.GetString("config")
	adapter, _ := fl.GetString("adapter")
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, config, adapter)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, path, nil, rd)
	if err != nil {
		return adminErr(err)
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// adminErr shortens the admin API's "caddy responded with error: HTTP
// 404: {"error":"..."}" to its message.
func adminErr(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "{"); i >= 0 {
		var body struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(msg[i:]), &body) == nil && body.Error != "" {
			return errors.New(strings.TrimSpace(msg[:i]) + " " + body.Error)
		}
	}
	return err
}

func jsonOut(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, aligned.
func table(header string, rows [][]string) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// listAll follows next_cursor until the listing ends.
func listAll[T any](cmd *cobra.Command, path string, q url.Values, key string) ([]T, error) {
	all := []T{}
	for {
		var page map[string]json.RawMessage
		if err := adminCall(cmd, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		var items []T
		if err := json.Unmarshal(page[key], &items); err != nil {
			return nil, err
		}
		all = append(all, items...)
		var next string
		_ = json.Unmarshal(page["next_cursor"], &next)
		if next == "" {
			return all, nil
		}
		q.Set("cursor", next)
	}
}
