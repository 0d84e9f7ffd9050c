package oauthcore

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Client metadata (RFC 7591 §2): what a registration may say, how it is
// validated and narrowed, and how a client is rendered back. Used by
// /register and by RFC 7592 updates.

// registration is the client metadata a request may carry. Unknown members
// are dropped (never stored or echoed); client_id, client_secret and the
// like are the server's to choose (RFC 7591 §3.2.1, CL-05).
type registration struct {
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              *string  `json:"client_name"`
	ClientURI               string   `json:"client_uri"`
	LogoURI                 string   `json:"logo_uri"`
	TOSURI                  string   `json:"tos_uri"`
	PolicyURI               string   `json:"policy_uri"`
	Contacts                []string `json:"contacts"`
	Scope                   string   `json:"scope"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	SoftwareID              string   `json:"software_id"`
	SoftwareVersion         string   `json:"software_version"`
	// Only for RFC 7592 updates, where they must match the client.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Limits on self-asserted metadata (DR-03).
const (
	maxClientName = 128
	maxContacts   = 5
	maxFieldBytes = 2048
)

func metadataErr(desc string) *Error { return NewError(400, CodeInvalidClientMetadata, desc) }

// parseRegistration reads a JSON registration body within the size limit.
func parseRegistration(w http.ResponseWriter, r *http.Request, limit int64) (*registration, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, NewError(http.StatusUnsupportedMediaType, CodeInvalidClientMetadata, "the body must be application/json")
	}
	body, err := readBody(w, r, limit, CodeInvalidClientMetadata)
	if err != nil {
		return nil, err
	}
	var reg registration
	if err := json.Unmarshal(body, &reg); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, metadataErr(typeErr.Field + " has the wrong type")
		}
		return nil, metadataErr("the body is not a JSON object")
	}
	return &reg, nil
}

// clientMetadata validates a registration into the stored form.
func (c *Config) clientMetadata(reg *registration) (Metadata, error) {
	if len(reg.RedirectURIs) == 0 {
		return Metadata{}, metadataErr("redirect_uris is required")
	}
	if len(reg.RedirectURIs) > c.MaxRedirectURIs {
		return Metadata{}, NewError(400, CodeInvalidRedirectURI, "too many redirect_uris")
	}
	for _, u := range reg.RedirectURIs {
		if err := c.checkRedirectURI(u); err != nil {
			return Metadata{}, NewError(400, CodeInvalidRedirectURI, err.Error())
		}
	}
	m := Metadata{
		RedirectURIs: reg.RedirectURIs, ClientURI: reg.ClientURI, LogoURI: reg.LogoURI,
		TOSURI: reg.TOSURI, PolicyURI: reg.PolicyURI, Contacts: reg.Contacts,
		SoftwareID: reg.SoftwareID, SoftwareVersion: reg.SoftwareVersion,
		GrantTypes: reg.GrantTypes, ResponseTypes: reg.ResponseTypes,
		TokenEndpointAuthMethod: reg.TokenEndpointAuthMethod,
	}
	if reg.ClientName != nil {
		m.ClientName = cleanDisplayText(*reg.ClientName, maxClientName)
	}
	for _, u := range []string{m.ClientURI, m.LogoURI, m.TOSURI, m.PolicyURI} {
		if err := checkDisplayURL(u); err != nil {
			return Metadata{}, err
		}
	}
	if len(m.Contacts) > maxContacts {
		return Metadata{}, metadataErr("at most 5 contacts")
	}
	for _, contact := range m.Contacts {
		if len(contact) > 256 {
			return Metadata{}, metadataErr("contact too long")
		}
	}
	if len(m.SoftwareID) > 256 || len(m.SoftwareVersion) > 256 {
		return Metadata{}, metadataErr("software_id or software_version too long")
	}
	return m, c.defaultCapabilities(&m, reg.Scope)
}

// defaultCapabilities fills and checks what the client may do: only what
// this server implements (DR-05), only configured scopes (AZ-10).
func (c *Config) defaultCapabilities(m *Metadata, scope string) error {
	if m.GrantTypes == nil {
		m.GrantTypes = []string{grantCode, grantRefresh}
	}
	for _, g := range m.GrantTypes {
		if g != grantCode && g != grantRefresh {
			return metadataErr("unsupported grant_type " + g)
		}
	}
	if !slices.Contains(m.GrantTypes, grantCode) {
		return metadataErr("grant_types must include authorization_code")
	}
	if m.ResponseTypes == nil {
		m.ResponseTypes = []string{"code"}
	}
	if len(m.ResponseTypes) != 1 || m.ResponseTypes[0] != "code" {
		return metadataErr("response_types must be [\"code\"]")
	}
	switch m.TokenEndpointAuthMethod {
	case "":
		// RFC 7591 §2: the default is client_secret_basic.
		m.TokenEndpointAuthMethod = AuthBasic
	case AuthNone, AuthPost, AuthBasic:
	default:
		return metadataErr("unsupported token_endpoint_auth_method " + m.TokenEndpointAuthMethod)
	}
	// RFC 7591 §3.2.1: the server may replace the requested scope; it is
	// narrowed to what is configured, never a reason to refuse.
	if len(scope) > maxFieldBytes {
		return metadataErr("scope is longer than 2048 bytes")
	}
	m.Scope = c.registeredScope(scope)
	return nil
}

// checkDisplayURL accepts an empty value or an absolute http(s) URL. These
// URLs are shown, never fetched (DR-04, SS-01).
func checkDisplayURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxFieldBytes || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return metadataErr("client_uri, logo_uri, tos_uri and policy_uri must be absolute http(s) URLs")
	}
	return nil
}

// cleanDisplayText drops control and bidi-override characters (which can
// disguise a name on the consent page) and truncates.
func cleanDisplayText(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u200b' || r == '\ufeff' {
			continue
		}
		if n == max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// registrationResponse renders a client as RFC 7591 §3.2.1 and RFC 7592 §3
// describe.
func (c *Config) registrationResponse(cl *Client, secret, rat string) map[string]any {
	m := cl.Metadata
	resp := map[string]any{
		"client_id":                  cl.ID,
		"client_id_issued_at":        cl.IssuedAt.Unix(),
		"redirect_uris":              m.RedirectURIs,
		"client_name":                nullable(m.ClientName),
		"scope":                      strings.Join(c.clientScopes(cl), " "),
		"grant_types":                m.GrantTypes,
		"response_types":             m.ResponseTypes,
		"token_endpoint_auth_method": m.TokenEndpointAuthMethod,
		"registration_client_uri":    c.Issuer + pathRegister + "/" + cl.ID,
	}
	if rat != "" {
		resp["registration_access_token"] = rat
	}
	if !cl.Public() {
		if secret != "" {
			resp["client_secret"] = secret
		}
		resp["client_secret_expires_at"] = unixOrZero(cl.SecretExpiresAt)
	}
	for k, v := range map[string]string{"client_uri": m.ClientURI, "logo_uri": m.LogoURI, "tos_uri": m.TOSURI,
		"policy_uri": m.PolicyURI, "software_id": m.SoftwareID, "software_version": m.SoftwareVersion} {
		if v != "" {
			resp[k] = v
		}
	}
	if len(m.Contacts) > 0 {
		resp["contacts"] = m.Contacts
	}
	return resp
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
