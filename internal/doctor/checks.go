package doctor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// mcpInitialize is the first request every MCP client sends.
const mcpInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",` +
	`"capabilities":{},"clientInfo":{"name":"caddy-mcp-oauth-doctor","version":"1"}}}`

var metadataParam = regexp.MustCompile(`resource_metadata="([^"]+)"`)

// challenge: the MCP URL without a token is a 401 whose WWW-Authenticate
// names the resource metadata (RFC 9728 §5.1, MCP authorization).
func (r *run) challenge() (string, bool) {
	req, _ := http.NewRequestWithContext(r.ctx, http.MethodPost, r.mcpURL.String(), strings.NewReader(mcpInitialize))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := r.d.Client.Do(req)
	if err != nil {
		return "", r.add(Step{Name: "401 challenge", Detail: err.Error(), Rule: "MCP: the server answers requests",
			Fix: "check the URL, DNS and TLS; `curl -v` the URL"})
	}
	resp.Body.Close()
	www := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(strings.ToLower(www), "bearer") {
		return "", r.add(Step{Name: "401 challenge", Detail: fmt.Sprintf("a request without a token got %d, WWW-Authenticate %q", resp.StatusCode, www),
			Rule: "MCP authorization / RFC 6750 §3: a request without a token gets 401 with a Bearer challenge",
			Fix:  "put `mcp_oauth_verify` in front of the MCP server's reverse_proxy, on the path clients use"})
	}
	m := metadataParam.FindStringSubmatch(www)
	standard := r.standardMetadataURL()
	if m == nil {
		r.add(Step{Name: "401 challenge", Detail: "WWW-Authenticate has no resource_metadata: " + www,
			Rule: "RFC 9728 §5.1: the challenge carries resource_metadata", Fix: "serve the gate with mcp_oauth_verify, which always sends it"})
		return standard, true
	}
	r.add(Step{Name: "401 challenge", Pass: true, Detail: "401 with resource_metadata=" + m[1], Rule: "RFC 9728 §5.1"})
	if u, err := url.Parse(m[1]); err != nil || u.Host != r.mcpURL.Host {
		// The gate describes another resource than the one asked for:
		// clients refuse its tokens' audience or the metadata itself.
		r.add(r.resourceStep(m[1], "the challenge points at the metadata of another origin: "+m[1]))
		return standard, true
	}
	return m[1], true
}

// resourceStep is the failing "resource matches the URL" step.
func (r *run) resourceStep(got, detail string) Step {
	want := r.mcpURL.String()
	return Step{Name: "resource matches the URL", Detail: detail,
		Rule: "RFC 9728 §3.3: the metadata's resource is identical to the URL the client used; clients compare it byte for byte",
		Fix: fmt.Sprintf("make mcp_oauth_verify's `resource` name this origin (%s) and the path clients use, or remove "+
			"`resource` so the gate derives it from the request; clients must be configured with %s", r.mcpURL.Scheme+"://"+r.mcpURL.Host, want)}
}

// standardMetadataURL is RFC 9728 §3.1's well-known URL of the MCP URL.
func (r *run) standardMetadataURL() string {
	path := strings.TrimSuffix(r.mcpURL.EscapedPath(), "/")
	return r.mcpURL.Scheme + "://" + r.mcpURL.Host + "/.well-known/oauth-protected-resource" + path
}

// resourceMetadata: the metadata at the header's URL and at the standard
// path, each naming the MCP URL byte for byte as its resource.
func (r *run) resourceMetadata(prmURL string) (map[string]any, bool) {
	want := r.mcpURL.String()
	prm, _, err := r.getJSON(prmURL)
	if err != nil {
		return nil, r.add(Step{Name: "resource metadata", Detail: err.Error(), Rule: "RFC 9728 §3: the metadata is served where the challenge says",
			Fix: "let the gate answer its metadata: mcp_oauth_verify serves it, outside any handle_path that strips the path"})
	}
	r.add(Step{Name: "resource metadata", Pass: true, Detail: "200 at " + prmURL, Rule: "RFC 9728 §3"})
	res := str(prm, "resource")
	if step := r.resourceStep(res, fmt.Sprintf("resource %q for URL %q", res, want)); sameURL(res, want) {
		step.Pass, step.Fix = true, ""
		r.add(step)
	} else {
		r.add(step)
	}
	standard := r.standardMetadataURL()
	if standard != prmURL {
		sm, _, err := r.getJSON(standard)
		detail := "200 at " + standard + ", resource " + str(sm, "resource")
		switch {
		case err != nil:
			detail = err.Error()
		case str(sm, "resource") != res:
			detail = fmt.Sprintf("resource %q at %s, %q at the header's URL", str(sm, "resource"), standard, res)
		}
		r.add(Step{Name: "resource metadata at the standard path", Pass: err == nil && str(sm, "resource") == res, Detail: detail,
			Rule: "RFC 9728 §3.1: clients that ignore the header (or probe first) look at /.well-known/oauth-protected-resource<path>",
			Fix:  "give the gate its path as matcher, `mcp_oauth_verify " + strings.TrimSuffix(r.mcpURL.Path, "/mcp") + "/*`, so it also answers the well-known URL; inside `route /x/* {}` it cannot"})
	}
	return prm, true
}

// authorizationServer: the metadata names exactly one issuer.
func (r *run) authorizationServer(prm map[string]any) (string, bool) {
	servers := strs(prm, "authorization_servers")
	if len(servers) == 0 {
		return "", r.add(Step{Name: "authorization server", Detail: "authorization_servers is empty",
			Rule: "RFC 9728 §2, MCP: the metadata names the authorization server", Fix: "set issuer in the mcp_oauth global option"})
	}
	iss := servers[0]
	// A trailing slash fails this step, and the walk goes on: the
	// server metadata then shows the other spelling.
	r.add(Step{Name: "authorization server", Pass: !strings.HasSuffix(iss, "/"), Detail: "issuer " + iss,
		Rule: "RFC 8414 §2: the issuer has no trailing slash unless it is part of the identifier; clients compare it byte for byte",
		Fix:  "write the issuer without a trailing slash: issuer " + strings.TrimSuffix(iss, "/")})
	return iss, true
}

// serverMetadata: every URL clients probe for the AS metadata answers,
// with the issuer spelled exactly as the resource metadata spells it.
func (r *run) serverMetadata(issuer string) (map[string]any, bool) {
	origin, path := splitIssuer(issuer)
	variants := []string{origin + "/.well-known/oauth-authorization-server" + path, origin + "/.well-known/openid-configuration" + path}
	if path != "" {
		variants = append(variants, issuer+"/.well-known/openid-configuration")
	}
	var md map[string]any
	for _, v := range variants {
		m, status, err := r.getJSON(v)
		if err != nil {
			r.add(Step{Name: "server metadata at " + v, Detail: fmt.Sprintf("answered %d: %v", status, err),
				Rule: "RFC 8414 §3, OIDC Discovery: clients probe these URLs in turn",
				Fix:  "serve mcp_oauth_server on the issuer's site, at its root (no handle_path in front)"})
			continue
		}
		got := str(m, "issuer")
		r.add(Step{Name: "server metadata at " + v, Pass: got == issuer, Detail: fmt.Sprintf("issuer %q", got),
			Rule: "RFC 8414 §3.3: the issuer in the metadata is identical to the one the resource names",
			Fix:  "make both spellings one: issuer " + strings.TrimSuffix(issuer, "/") + " in mcp_oauth, and the same origin in the gate"})
		if md == nil {
			md = m
		}
	}
	if md == nil {
		return nil, false
	}
	pkce := slices.Contains(strs(md, "code_challenge_methods_supported"), "S256")
	r.add(Step{Name: "PKCE S256 advertised", Pass: pkce, Detail: fmt.Sprintf("code_challenge_methods_supported %v", strs(md, "code_challenge_methods_supported")),
		Rule: "MCP authorization, OAuth 2.1 §7.5: clients refuse a server that does not advertise S256", Fix: "use mcp_oauth_server's metadata unaltered"})
	return md, true
}

func splitIssuer(issuer string) (origin, path string) {
	i := strings.Index(issuer, "://")
	if i < 0 {
		return issuer, ""
	}
	if j := strings.IndexByte(issuer[i+3:], '/'); j >= 0 {
		return issuer[:i+3+j], strings.TrimSuffix(issuer[i+3+j:], "/")
	}
	return issuer, ""
}

// cors: a browser client (MCP Inspector) can read the metadata, reach the
// token endpoint, and see the gate's challenge.
func (r *run) cors(issuer string, md map[string]any) {
	origin, _ := splitIssuer(issuer)
	targets := []string{origin + "/.well-known/oauth-authorization-server", str(md, "token_endpoint"), r.mcpURL.String()}
	for _, target := range targets {
		if target == "" {
			continue
		}
		rep, err := r.do(http.MethodOptions, target, nil, map[string]string{"Origin": r.d.Origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"})
		acao := ""
		if err == nil {
			acao = rep.header.Get("Access-Control-Allow-Origin")
		}
		ok := err == nil && rep.status < 300 && (acao == "*" || acao == r.d.Origin)
		detail := fmt.Sprintf("preflight from %s: Access-Control-Allow-Origin %q", r.d.Origin, acao)
		if err != nil {
			detail = err.Error()
		}
		fix := "answer CORS preflights: nothing in front of mcp_oauth_server may swallow OPTIONS"
		if target == r.mcpURL.String() {
			fix = "add the browser client's origin to mcp_oauth_verify: allowed_origins " + r.d.Origin
		}
		r.add(Step{Name: "CORS " + target, Pass: ok, Detail: detail,
			Rule: "Fetch standard: browser MCP clients read these cross-origin", Fix: fix})
	}
}

// clientShapes are registrations as real clients send them.
var clientShapes = []struct {
	name string
	meta map[string]any
}{
	{"Claude", map[string]any{"client_name": "Claude", "redirect_uris": []string{"https://claude.ai/api/mcp/auth_callback"},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}, "token_endpoint_auth_method": "none"}},
	{"ChatGPT", map[string]any{"client_name": "ChatGPT", "redirect_uris": []string{"https://chatgpt.com/connector_platform_oauth_redirect"},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "client_secret_post"}},
	{"VS Code", map[string]any{"client_name": "Visual Studio Code", "redirect_uris": []string{"http://127.0.0.1:33418", "https://vscode.dev/redirect"},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none"}},
	{"Cursor", map[string]any{"client_name": "Cursor", "redirect_uris": []string{"cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback"},
		"token_endpoint_auth_method": "none"}},
	{"MCP Inspector", map[string]any{"client_name": "MCP Inspector", "redirect_uris": []string{"http://localhost:6274/oauth/callback"},
		"scope": "mcp", "token_endpoint_auth_method": "none"}},
}

// registrations registers each client shape and deletes it again.
func (r *run) registrations(md map[string]any) {
	if md["client_id_metadata_document_supported"] == true {
		r.add(Step{Name: "client ID metadata documents", Pass: true, Detail: "offered (clients may use an https client_id instead of registering)",
			Rule: "MCP 2025-11-25: Client ID Metadata Documents"})
	}
	reg := str(md, "registration_endpoint")
	if reg == "" {
		r.add(Step{Name: "registration", Pass: md["client_id_metadata_document_supported"] == true, Detail: "no registration_endpoint",
			Rule: "RFC 7591: clients without a preconfigured client register dynamically", Fix: "use mcp_oauth_server's metadata unaltered"})
		return
	}
	for _, shape := range clientShapes {
		r.registerOne(reg, shape.name, shape.meta)
	}
}

func (r *run) registerOne(reg, name string, meta map[string]any) {
	rep, err := r.do(http.MethodPost, reg, meta, nil)
	var out map[string]any
	if err == nil {
		_ = json.Unmarshal(rep.body, &out)
	}
	if err != nil || rep.status != http.StatusCreated || str(out, "client_id") == "" {
		detail := fmt.Sprint(err)
		if err == nil {
			detail = fmt.Sprintf("%d %s", rep.status, strings.TrimSpace(string(rep.body)))
		}
		r.add(Step{Name: "registration as " + name, Detail: detail, Rule: "RFC 7591 §3.2.1: a valid registration gets 201",
			Fix: "if the redirect URI scheme is refused, allow it with redirect_schemes; see the error_description"})
		return
	}
	id, uri, rat := str(out, "client_id"), str(out, "registration_client_uri"), str(out, "registration_access_token")
	del, err := r.do(http.MethodDelete, uri, nil, map[string]string{"Authorization": "Bearer " + rat})
	cleaned := err == nil && del.status == http.StatusNoContent
	step := Step{Name: "registration as " + name, Pass: cleaned, Detail: "201, client " + id + " (deleted again)",
		Rule: "RFC 7591 §3.2.1; RFC 7592 §2.3 for the clean-up"}
	if !cleaned {
		step.Detail = "201, client " + id + ", but deleting it failed"
		step.Fix = "delete it: caddy mcp-oauth clients delete " + id
	}
	r.add(step)
}
