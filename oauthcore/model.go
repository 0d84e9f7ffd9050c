package oauthcore

import "time"

// Client is a registered OAuth client (RFC 7591). Secrets are kept only as
// SHA-256 hex digests; the plain values exist only in the registration
// response.
type Client struct {
	ID                    string    `json:"client_id"`
	SecretHash            string    `json:"secret_hash,omitempty"`
	RegistrationTokenHash string    `json:"registration_token_hash"`
	IssuedAt              time.Time `json:"issued_at"`
	SecretExpiresAt       time.Time `json:"secret_expires_at,omitzero"` // zero: never
	ExpiresAt             time.Time `json:"expires_at,omitzero"`        // zero: never (see Store docs)
	Metadata              Metadata  `json:"metadata"`
	// Version increases on every RFC 7592 update, so remembered consent and
	// outstanding codes issued against an older registration stop counting.
	Version int `json:"version"`
}

// Public reports whether the client authenticates with no secret.
func (c *Client) Public() bool { return c.Metadata.TokenEndpointAuthMethod == AuthNone }

// Metadata is the client metadata a client may set (RFC 7591 §2).
type Metadata struct {
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	TOSURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
	Contacts                []string `json:"contacts,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
}

// Token endpoint authentication methods.
const (
	AuthNone     = "none"
	AuthPost     = "client_secret_post"
	AuthBasic    = "client_secret_basic"
	grantCode    = "authorization_code"
	grantRefresh = "refresh_token"
)

// User is the GitHub identity a grant belongs to. ID is GitHub's numeric
// user id, the only stable identifier (logins can be renamed and reused).
type User struct {
	ID    string `json:"id"`
	Login string `json:"login"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	// Orgs and Teams are the allow-listed orgs and teams ("org/slug") the
	// user was in when last checked.
	Orgs  []string `json:"orgs,omitempty"`
	Teams []string `json:"teams,omitempty"`
}

// Request is a validated authorization request, carried from /authorize
// through consent and the GitHub login to the code.
type Request struct {
	ClientID      string `json:"client_id"`
	ClientVersion int    `json:"client_version"`
	RedirectURI   string `json:"redirect_uri"`
	// RedirectGiven records whether redirect_uri was in the request.
	RedirectGiven bool   `json:"redirect_given"`
	State         string `json:"state,omitempty"`
	Scope         string `json:"scope"`
	Resource      string `json:"resource,omitempty"`
	Challenge     string `json:"code_challenge"`
}

// Flow is a pending browser flow. Before consent it is keyed by the hash of
// the consent form's flow id; after consent by the hash of the state sent to
// GitHub. BrowserHash binds it to a cookie of the browser that started it.
type Flow struct {
	Request     Request   `json:"request"`
	CSRFHash    string    `json:"csrf_hash,omitempty"`
	BrowserHash string    `json:"browser_hash,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// AuthCode is an issued authorization code, stored under the hash of the
// code. Once consumed, the store keeps it as a tombstone (Used) until it
// expires, so a replay can find and revoke the grant it produced.
type AuthCode struct {
	Request   Request   `json:"request"`
	User      User      `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
	Used      bool      `json:"used,omitempty"`
	GrantID   string    `json:"grant_id,omitempty"`
	// GitHub is the user's GitHub token, sealed (see sealer) for the code.
	GitHub []byte `json:"github,omitempty"`
}

// Grant is one authorization: a user's consent to a client, the refresh
// token family that continues it, and the access tokens it produced (which
// carry its ID). Revoking the grant ends all of them.
type Grant struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	User     User   `json:"user"`
	Scope    string `json:"scope"`
	Resource string `json:"resource,omitempty"`
	// RedirectURI is where the grant's code went. A document client's
	// refresh needs its document to list it still.
	RedirectURI string    `json:"redirect_uri,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"` // end of the refresh family; every rotation moves it (sliding)
	// RefreshHash is the hash of the current refresh token.
	RefreshHash string `json:"refresh_hash"`
	// PrevRefreshHash is the token it replaced, accepted again until
	// RotatedAt plus the grace window; Successor is the current refresh
	// token sealed with a key derived from the previous one, so a client that
	// lost the response (or refreshed concurrently) gets the same successor.
	PrevRefreshHash string    `json:"prev_refresh_hash,omitempty"`
	RotatedAt       time.Time `json:"rotated_at,omitzero"`
	Successor       []byte    `json:"successor,omitempty"`
	// Version is compared and increased by UpdateGrant.
	Version int `json:"version"`
	// LastUsed drives the idle expiry of the family.
	LastUsed time.Time `json:"last_used"`
	// GitHub is the user's GitHub token, sealed for this grant (AES-GCM,
	// see sealer); it goes when the grant goes. CheckedAt is when the
	// user's allow-listing (and memberships) were last confirmed.
	GitHub    []byte    `json:"github,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// SigningKey is one asymmetric signing key, PKCS#8 DER encoded.
type SigningKey struct {
	ID         string    `json:"kid"`
	Algorithm  string    `json:"alg"`
	PrivateDER []byte    `json:"private_der"`
	CreatedAt  time.Time `json:"created_at"`
	// ActivateAt is when the key starts signing; until then it is only
	// published, so every instance knows it before tokens carry its kid.
	// Zero: at once.
	ActivateAt time.Time `json:"activate_at,omitzero"`
	// RetiredAt is when a newer key took over; the key stays published
	// until every token it signed has expired.
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// KeySet is the stored set of signing keys; Version is compared on save.
type KeySet struct {
	Keys []SigningKey `json:"keys"`
	// TokenKeys encrypt the users' GitHub tokens kept with grants.
	TokenKeys []TokenKey `json:"token_keys,omitempty"`
	Version   int        `json:"version"`
}
