package caddymodule

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/doctor"
)

// doctorCommand is `caddy mcp-oauth doctor <mcp-url>`.
func doctorCommand() *cobra.Command {
	cmd := sub("doctor <mcp-url>", "Checks a deployment over HTTP as Claude, ChatGPT, VS Code, Cursor and MCP Inspector do", cobra.ExactArgs(1), runDoctor)
	cmd.Long = `Walks what MCP clients do against a deployment: the 401 and its
WWW-Authenticate, the RFC 9728 metadata at the header's URL and at the
standard path, resource equal to the URL, the RFC 8414 metadata at every
URL clients probe, the issuer spelled the same everywhere, PKCE, CORS for a
browser client, and a registration in each client's shape (each deleted
again). It prints PASS or FAIL per step with the rule and the fix, and
exits non-zero if anything fails. It never logs in.`
	cmd.Flags().Bool("insecure", false, "Skip TLS certificate checks (tests with tls internal only)")
	return cmd
}

func runDoctor(cmd *cobra.Command, args []string) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
	defer cancel()
	rep := newDoctor(cmd).Check(ctx, args[0])
	if jsonOut(cmd) {
		if err := printJSON(rep); err != nil {
			return err
		}
	} else {
		rep.Print(os.Stdout)
	}
	if !rep.OK() {
		return errors.New("doctor: some checks failed")
	}
	return nil
}

// newDoctor is a doctor whose client honours --insecure (doctor, login).
func newDoctor(cmd *cobra.Command) *doctor.Doctor {
	insecure, _ := cmd.Flags().GetBool("insecure")
	if !insecure {
		return doctor.New(nil)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it, for tests
	return doctor.New(t)
}
