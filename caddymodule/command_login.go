package caddymodule

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// loginCommand is `caddy mcp-oauth login <mcp-url>`: the browser flow
// from a terminal, as mcp-oauth-dynamicclient's mcp-oauth-token did. It
// registers a public client with a loopback redirect URI (RFC 8252 §7.3),
// prints the authorization URL, waits for the browser to come back with
// the code, and redeems it with PKCE.
func loginCommand() *cobra.Command {
	cmd := sub("login <mcp-url>", "Logs in through the browser from a terminal and prints (or saves) the tokens", cobra.ExactArgs(1), runLogin)
	cmd.Flags().Int("port", 0, "Loopback port of the redirect URI (default: any free port)")
	cmd.Flags().String("scope", "", "Scopes to ask for (default: the server's default)")
	cmd.Flags().String("out", "", "Write the tokens (JSON, mode 0600) to this file instead of stdout")
	cmd.Flags().Duration("wait", 5*time.Minute, "How long to wait for the browser")
	cmd.Flags().Bool("insecure", false, "Skip TLS certificate checks (tests with tls internal only)")
	return cmd
}

func runLogin(cmd *cobra.Command, args []string) error {
	fl := cmd.Flags()
	d := newDoctor(cmd)
	wait, _ := fl.GetDuration("wait")
	ctx, cancel := context.WithTimeout(cmd.Context(), wait)
	defer cancel()
	disc, err := d.Discover(ctx, args[0])
	if err != nil {
		return fmt.Errorf("discovery: %w (run caddy mcp-oauth doctor %s)", err, args[0])
	}
	port, _ := fl.GetInt("port")
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + "/callback"
	clientID, err := registerLoginClient(ctx, d.Client, disc.RegistrationEndpoint, redirect)
	if err != nil {
		return err
	}
	verifier, state := randomString(), randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {disc.Resource}}
	if scope, _ := fl.GetString("scope"); scope != "" {
		q.Set("scope", scope)
	}
	fmt.Fprintf(os.Stderr, "Open this URL in your browser to log in:\n%s?%s\n", disc.AuthorizationEndpoint, q.Encode())
	code, err := awaitCode(ctx, ln, state)
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {clientID}, "code_verifier": {verifier}, "resource": {disc.Resource}}
	tokens, err := postForm(ctx, d.Client, disc.TokenEndpoint, form)
	if err != nil {
		return err
	}
	return writeTokens(cmd, tokens)
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// registerLoginClient registers the command as a public client (RFC 7591).
func registerLoginClient(ctx context.Context, c *http.Client, endpoint, redirect string) (string, error) {
	if endpoint == "" {
		return "", errors.New("the authorization server offers no registration endpoint")
	}
	body, _ := json.Marshal(map[string]any{"client_name": "caddy mcp-oauth login", "redirect_uris": []string{redirect},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var out map[string]any
	if err := doJSON(c, req, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("registration: %w", err)
	}
	id, _ := out["client_id"].(string)
	return id, nil
}

// awaitCode serves the loopback redirect URI until the browser brings a
// code (or an error) for state.
func awaitCode(ctx context.Context, ln net.Listener, state string) (string, error) {
	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/callback" || q.Get("state") != state {
			http.Error(w, "not the login this command started", http.StatusBadRequest)
			return
		}
		res := result{code: q.Get("code")}
		if e := q.Get("error"); e != "" || res.code == "" {
			res.err = fmt.Errorf("the authorization server refused: %s %s", e, q.Get("error_description"))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Login finished; you can close this tab and return to the terminal.")
		select {
		case done <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	select {
	case res := <-done:
		return res.code, res.err
	case <-ctx.Done():
		return "", errors.New("no browser came back before --wait ran out")
	}
}

// postForm posts a token request and returns the token response.
func postForm(ctx context.Context, c *http.Client, endpoint string, form url.Values) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out map[string]any
	if err := doJSON(c, req, http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return out, nil
}

func doJSON(c *http.Client, req *http.Request, want int, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s answered %d: %s", req.URL, resp.StatusCode, strings.TrimSpace(body.String()))
	}
	return json.Unmarshal(body.Bytes(), out)
}

// writeTokens prints the tokens as JSON, or saves them (0600) with --out.
func writeTokens(cmd *cobra.Command, tokens map[string]any) error {
	raw, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return err
	}
	out, _ := cmd.Flags().GetString("out")
	if out == "" {
		_, err = fmt.Println(string(raw))
		return err
	}
	if err := os.WriteFile(out, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "tokens saved to", out)
	return nil
}
