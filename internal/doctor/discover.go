package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// Discovery is what a client learns before it logs in.
type Discovery struct {
	Resource              string
	Issuer                string
	AuthorizationEndpoint string
	TokenEndpoint         string
	RegistrationEndpoint  string
}

// Discover finds the authorization server of the MCP server at mcpURL as
// clients do: the 401's resource_metadata (else the standard path), the
// resource metadata, then the issuer's RFC 8414 metadata. An error names
// the step; `caddy mcp-oauth doctor` says more.
func (d *Doctor) Discover(ctx context.Context, mcpURL string) (*Discovery, error) {
	r := &run{d: d, ctx: ctx, rep: &Report{URL: mcpURL}}
	u, err := url.Parse(mcpURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", mcpURL)
	}
	r.mcpURL = u
	prmURL, ok := r.challenge()
	if !ok {
		return nil, r.failure()
	}
	prm, _, err := r.getJSON(prmURL)
	if err != nil {
		return nil, fmt.Errorf("resource metadata: %w", err)
	}
	servers := strs(prm, "authorization_servers")
	if len(servers) == 0 {
		return nil, errors.New("the resource metadata names no authorization server")
	}
	origin, path := splitIssuer(servers[0])
	md, _, err := r.getJSON(origin + "/.well-known/oauth-authorization-server" + path)
	if err != nil {
		return nil, fmt.Errorf("authorization server metadata: %w", err)
	}
	return &Discovery{Resource: str(prm, "resource"), Issuer: str(md, "issuer"),
		AuthorizationEndpoint: str(md, "authorization_endpoint"), TokenEndpoint: str(md, "token_endpoint"),
		RegistrationEndpoint: str(md, "registration_endpoint")}, nil
}

// failure is the first failing step as an error.
func (r *run) failure() error {
	for _, s := range r.rep.Steps {
		if !s.Pass {
			return fmt.Errorf("%s: %s (%s)", s.Name, s.Detail, s.Fix)
		}
	}
	return errors.New("discovery failed")
}
