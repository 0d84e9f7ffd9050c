package cimd

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxDocumentSize is the largest document accepted, in bytes: the draft's
// recommended 5 kilobytes (§"Maximum Response Size"), read as 5 KiB. A
// larger one is refused, never truncated.
const MaxDocumentSize = 5 << 10

// Document is a validated Client ID Metadata Document. Documents returned
// by a Resolver are shared with its cache: read them, never modify them.
//
// The URI fields other than RedirectURIs are kept as the strings the
// document gave: they are untrusted text for display, and this package
// never fetches them (SS-01).
type Document struct {
	// ClientID is the Client Identifier URL, byte-equal to the URL fetched.
	ClientID string `json:"client_id"`
	// ClientName is the document's client_name, non-empty, without control
	// characters; render it as untrusted text.
	ClientName string `json:"client_name"`
	// RedirectURIs are the redirect URIs the client may use, as written.
	RedirectURIs []string `json:"redirect_uris"`
	// GrantTypes is authorization_code, and refresh_token when the
	// document lists it or lists no grant_types at all.
	GrantTypes []string `json:"grant_types"`
	// ResponseTypes is always ["code"].
	ResponseTypes []string `json:"response_types"`
	// TokenEndpointAuthMethod is always "none": CIMD clients are public.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	// Scope is the document's scope, as given; the server narrows it.
	Scope string `json:"scope,omitempty"`
	// ClientURI to SoftwareVersion are the document's display metadata,
	// kept as given: untrusted text, never fetched.
	ClientURI       string `json:"client_uri,omitempty"`
	LogoURI         string `json:"logo_uri,omitempty"`
	PolicyURI       string `json:"policy_uri,omitempty"`
	TOSURI          string `json:"tos_uri,omitempty"`
	SoftwareID      string `json:"software_id,omitempty"`
	SoftwareVersion string `json:"software_version,omitempty"`
}

// Host is the host[:port] of the client_id, as written: the domain that
// vouches for the client, for the consent page.
func (d *Document) Host() string {
	rest := strings.TrimPrefix(d.ClientID, "https://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// AllowsRefresh reports whether the client may use refresh tokens.
func (d *Document) AllowsRefresh() bool { return slices.Contains(d.GrantTypes, "refresh_token") }

// The members ParseDocument reads; a bit each, to refuse duplicates.
const (
	fClientID uint32 = 1 << iota
	fClientName
	fRedirectURIs
	fGrantTypes
	fResponseTypes
	fAuthMethod
	fScope
	fClientURI
	fLogoURI
	fPolicyURI
	fTOSURI
	fSoftwareID
	fSoftwareVersion
	fClientSecret
	fClientSecretExpiresAt
	fJWKS
)

var members = map[string]uint32{
	"client_id": fClientID, "client_name": fClientName, "redirect_uris": fRedirectURIs,
	"grant_types": fGrantTypes, "response_types": fResponseTypes,
	"token_endpoint_auth_method": fAuthMethod, "scope": fScope,
	"client_uri": fClientURI, "logo_uri": fLogoURI, "policy_uri": fPolicyURI, "tos_uri": fTOSURI,
	"software_id": fSoftwareID, "software_version": fSoftwareVersion,
	"client_secret": fClientSecret, "client_secret_expires_at": fClientSecretExpiresAt, "jwks": fJWKS,
}

// rawDocument is what the JSON said, before validation; nil means absent
// or null.
type rawDocument struct {
	strs          map[uint32]*string
	redirectURIs  []string
	grantTypes    []string
	responseTypes []string
	seen          uint32
	secret        bool
	jwks          json.RawMessage
}

// ParseDocument parses and validates body, the document served at
// clientID (which must itself be valid, see ValidClientIDURL).
//
// The body must be one JSON object of at most MaxDocumentSize bytes.
// Members are matched by exact name (encoding/json alone would let
// "Client_ID" stand for client_id), a known member may appear once, and
// unknown members are ignored. Required: client_id byte-equal to clientID
// (the draft §4, "simple string comparison"), client_name and
// redirect_uris. token_endpoint_auth_method must be absent or "none";
// client_secret and private key material must not appear (§4.1).
// grant_types, when given, must include authorization_code and
// response_types must include code; other values are dropped, since a
// document serves many servers and we grant only the code flow.
func ParseDocument(clientID string, body []byte) (*Document, error) {
	if err := ValidClientIDURL(clientID); err != nil {
		return nil, err
	}
	if len(body) > MaxDocumentSize {
		return nil, invalidDoc("larger than 5 KiB")
	}
	raw, err := decodeDocument(body)
	if err != nil {
		return nil, err
	}
	return raw.validate(clientID)
}

func decodeDocument(body []byte) (*rawDocument, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, invalidDoc("not a JSON object")
	}
	raw := &rawDocument{strs: make(map[uint32]*string, 8)}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidDoc("not valid JSON")
		}
		key, _ := tok.(string)
		f, known := members[key]
		if !known {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, invalidDoc("not valid JSON")
			}
			continue
		}
		if raw.seen&f != 0 {
			return nil, invalidDoc("member " + key + " appears twice")
		}
		raw.seen |= f
		if err := raw.decodeMember(dec, f); err != nil {
			return nil, invalidDoc(key + " has the wrong type")
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, invalidDoc("not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidDoc("has data after the JSON object")
	}
	return raw, nil
}

func (raw *rawDocument) decodeMember(dec *json.Decoder, f uint32) error {
	switch f {
	case fRedirectURIs:
		return dec.Decode(&raw.redirectURIs)
	case fGrantTypes:
		return dec.Decode(&raw.grantTypes)
	case fResponseTypes:
		return dec.Decode(&raw.responseTypes)
	case fJWKS:
		return dec.Decode(&raw.jwks)
	case fClientSecret, fClientSecretExpiresAt:
		var v json.RawMessage
		err := dec.Decode(&v)
		raw.secret = raw.secret || string(v) != "null"
		return err
	}
	var s *string
	if err := dec.Decode(&s); err != nil {
		return err
	}
	raw.strs[f] = s
	return nil
}

func (raw *rawDocument) str(f uint32) string {
	if s := raw.strs[f]; s != nil {
		return *s
	}
	return ""
}

func (raw *rawDocument) validate(clientID string) (*Document, error) {
	id := raw.strs[fClientID]
	switch {
	case id == nil:
		return nil, invalidDoc("client_id is required")
	case *id != clientID:
		return nil, invalidDoc("client_id does not match the URL it was fetched from")
	}
	if err := raw.checkCredentials(); err != nil {
		return nil, err
	}
	d := &Document{
		ClientID: clientID, ClientName: raw.str(fClientName), Scope: raw.str(fScope),
		ClientURI: raw.str(fClientURI), LogoURI: raw.str(fLogoURI), PolicyURI: raw.str(fPolicyURI),
		TOSURI: raw.str(fTOSURI), SoftwareID: raw.str(fSoftwareID), SoftwareVersion: raw.str(fSoftwareVersion),
		TokenEndpointAuthMethod: "none", ResponseTypes: []string{"code"},
	}
	if err := checkClientName(d.ClientName); err != nil {
		return nil, err
	}
	if err := checkRedirectURIs(raw.redirectURIs); err != nil {
		return nil, err
	}
	d.RedirectURIs = raw.redirectURIs
	var err error
	if d.GrantTypes, err = grantTypes(raw.grantTypes); err != nil {
		return nil, err
	}
	if raw.responseTypes != nil && !slices.Contains(raw.responseTypes, "code") {
		return nil, invalidDoc(`response_types must include "code"`)
	}
	return d, nil
}

// checkCredentials: there is no shared secret with a client that
// registers by URL (draft §4.1), and we support no key-based method yet.
func (raw *rawDocument) checkCredentials() error {
	switch m := raw.str(fAuthMethod); m {
	case "", "none":
	case "client_secret_basic", "client_secret_post", "client_secret_jwt":
		return invalidDoc("token_endpoint_auth_method " + m + " needs a shared secret, which a client metadata document cannot have; use none")
	case "private_key_jwt":
		return invalidDoc("token_endpoint_auth_method private_key_jwt is not supported yet; use none")
	default:
		return invalidDoc("token_endpoint_auth_method " + m + " is not supported; use none")
	}
	if raw.secret {
		return invalidDoc("must not contain client_secret or client_secret_expires_at")
	}
	if raw.jwks != nil && hasPrivateKey(raw.jwks) {
		return invalidDoc("jwks must not contain private key material")
	}
	return nil
}

// hasPrivateKey reports whether a JWK Set carries private or symmetric
// key members (RFC 7518 §6.2.2, §6.3.2, §6.4.1); a jwks that is not a JWK
// Set counts as one, so it is refused rather than ignored.
func hasPrivateKey(jwks json.RawMessage) bool {
	if string(jwks) == "null" {
		return false
	}
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return true
	}
	for _, k := range set.Keys {
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[m]; ok {
				return true
			}
		}
	}
	return false
}

func checkClientName(name string) error {
	if strings.TrimSpace(name) == "" {
		return invalidDoc("client_name is required")
	}
	if !utf8.ValidString(name) || strings.ContainsFunc(name, isControl) {
		return invalidDoc("client_name must not contain control characters")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }

// checkRedirectURIs applies only what every redirect URI must satisfy; the
// server's registration policy is Config.CheckRedirectURI.
func checkRedirectURIs(uris []string) error {
	if len(uris) == 0 {
		return invalidDoc("redirect_uris is required")
	}
	for _, u := range uris {
		if err := checkRedirectURI(u); err != nil {
			return invalidDoc("redirect_uris: " + err.Error())
		}
	}
	return nil
}

func checkRedirectURI(raw string) error {
	if raw == "" {
		return errors.New("an entry is empty")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || isControl(r) }) {
		return errors.New("an entry contains whitespace or control characters")
	}
	if strings.IndexByte(raw, '#') >= 0 {
		return errors.New("an entry contains a fragment")
	}
	if u, err := url.Parse(raw); err != nil || !u.IsAbs() {
		return errors.New("an entry is not an absolute URI")
	}
	return nil
}

// grantTypes keeps the grant types this server implements; absent means
// the code flow with refresh, as for clients registered at /register.
func grantTypes(given []string) ([]string, error) {
	if given == nil {
		return []string{"authorization_code", "refresh_token"}, nil
	}
	if !slices.Contains(given, "authorization_code") {
		return nil, invalidDoc(`grant_types must include "authorization_code"`)
	}
	if slices.Contains(given, "refresh_token") {
		return []string{"authorization_code", "refresh_token"}, nil
	}
	return []string{"authorization_code"}, nil
}
