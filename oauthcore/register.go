package oauthcore

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

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

func metadataErr(desc string) *Error { return newError(400, "invalid_client_metadata", desc) }

// parseRegistration reads a JSON registration body within the size limit.
func (s *Server) parseRegistration(w http.ResponseWriter, r *http.Request) (*registration, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, newError(http.StatusUnsupportedMediaType, "invalid_client_metadata", "the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxRegistrationBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, newError(http.StatusRequestEntityTooLarge, "invalid_client_metadata", "the registration is too large")
		}
		return nil, metadataErr("could not read the body")
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

// metadata validates a registration into the stored form.
func (s *Server) metadata(reg *registration) (Metadata, error) {
	if len(reg.RedirectURIs) == 0 {
		return Metadata{}, metadataErr("redirect_uris is required")
	}
	if len(reg.RedirectURIs) > s.cfg.MaxRedirectURIs {
		return Metadata{}, newError(400, "invalid_redirect_uri", "too many redirect_uris")
	}
	for _, u := range reg.RedirectURIs {
		if err := s.cfg.checkRedirectURI(u); err != nil {
			return Metadata{}, newError(400, "invalid_redirect_uri", err.Error())
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
	for _, c := range m.Contacts {
		if len(c) > 256 {
			return Metadata{}, metadataErr("contact too long")
		}
	}
	if len(m.SoftwareID) > 256 || len(m.SoftwareVersion) > 256 {
		return Metadata{}, metadataErr("software_id or software_version too long")
	}
	return m, s.defaultCapabilities(&m, reg.Scope)
}

// defaultCapabilities fills and checks what the client may do: only what
// this server implements (DR-05), only configured scopes (AZ-10).
func (s *Server) defaultCapabilities(m *Metadata, scope string) error {
	if m.GrantTypes == nil {
		m.GrantTypes = []string{grantCode, grantRefresh}
	}
	for _, g := range m.GrantTypes {
		if g != grantCode && g != grantRefresh {
			return metadataErr("unsupported grant_type " + g)
		}
	}
	if !contains(m.GrantTypes, grantCode) {
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
	m.Scope = s.cfg.registeredScope(scope)
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

func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodPost) {
		return
	}
	cors(w.Header())
	if err := s.registrationAllowed(r); err != nil {
		s.fail(w, r, "register", "", err)
		return
	}
	reg, err := s.parseRegistration(w, r)
	if err != nil {
		s.fail(w, r, "register", "", err)
		return
	}
	resp, err := s.Register(r, reg)
	if err != nil {
		s.fail(w, r, "register", "", err)
		return
	}
	noStore(w.Header())
	writeJSON(w, http.StatusCreated, resp)
}

// registrationAllowed counts the request against its client address's
// registrations this minute (RFC 7591 §3 allows rate limits; DR-01): an
// open endpoint must not let one client fill the store.
func (s *Server) registrationAllowed(r *http.Request) error {
	if s.cfg.RegistrationLimit < 0 {
		return nil
	}
	ip, now := clientIP(r), s.now()
	if blocked, wait := s.registrations.blocked(ip, now); blocked {
		return tooManyRequests("too many registrations from this address; retry later", wait)
	}
	s.registrations.add(ip, now)
	return nil
}

// Register validates and stores a new client and returns the RFC 7591
// response, the only place its secrets ever appear in plain text.
func (s *Server) Register(r *http.Request, reg *registration) (map[string]any, error) {
	m, err := s.metadata(reg)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &Client{IssuedAt: now.Truncate(time.Second), Metadata: m, Version: 1}
	if c.ID, err = s.secret("client_"); err != nil {
		return nil, unavailable(err)
	}
	c.ID = c.ID[:len("client_")+22] // 132 bits, as the original's ids
	if s.cfg.ClientLifetime > 0 {
		c.ExpiresAt = now.Add(s.cfg.ClientLifetime)
	}
	secret := ""
	if !c.Public() {
		if secret, err = s.secret(""); err != nil {
			return nil, unavailable(err)
		}
		c.SecretHash = HashSecret(secret)
		c.SecretExpiresAt = c.ExpiresAt
	}
	rat, err := s.secret("reg-")
	if err != nil {
		return nil, unavailable(err)
	}
	c.RegistrationTokenHash = HashSecret(rat)
	if err := s.store.CreateClient(r.Context(), c); err != nil {
		return nil, unavailable(err)
	}
	s.log.InfoContext(r.Context(), "client registered", "step", "register", "client_id", c.ID,
		"auth_method", m.TokenEndpointAuthMethod, "client_name", m.ClientName)
	return s.registrationResponse(c, secret, rat), nil
}

// registrationResponse renders a client as RFC 7591 §3.2.1 and RFC 7592 §3
// describe, with every member the original returned.
func (s *Server) registrationResponse(c *Client, secret, rat string) map[string]any {
	m := c.Metadata
	resp := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        c.IssuedAt.Unix(),
		"redirect_uris":              m.RedirectURIs,
		"client_name":                nullable(m.ClientName),
		"scope":                      strings.Join(s.cfg.clientScopes(c), " "),
		"grant_types":                m.GrantTypes,
		"response_types":             m.ResponseTypes,
		"token_endpoint_auth_method": m.TokenEndpointAuthMethod,
		"registration_client_uri":    s.cfg.Issuer + pathRegister + "/" + c.ID,
	}
	if rat != "" {
		resp["registration_access_token"] = rat
	}
	if !c.Public() {
		if secret != "" {
			resp["client_secret"] = secret
		}
		resp["client_secret_expires_at"] = unixOrZero(c.SecretExpiresAt)
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
