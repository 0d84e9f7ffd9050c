package oauthcore

import (
	"net/http"
	"strings"
)

// manageEndpoint is RFC 7592 client management, /register/{client_id}:
// read, update and delete a registration with its registration access
// token.
type manageEndpoint struct {
	*env
	clients ClientStore
	// failures counts wrong registration access tokens per client address
	// and client id, addrFailures per client address (MG-07).
	failures, addrFailures *throttle
}

// managedClientID extracts {client_id} from /register/{client_id}.
func managedClientID(path string) (string, bool) {
	id, ok := strings.CutPrefix(path, pathRegister+"/")
	if !ok || id == "" || strings.Contains(id, "/") || len(id) > 64 {
		return "", false
	}
	return id, true
}

// manageUnauthorized is the single answer for a missing or wrong
// registration access token and for an unknown client, so the endpoint
// does not reveal which client ids exist (RFC 7592 §2.1, MG-01).
func manageUnauthorized() *Error {
	return &Error{Code: CodeInvalidToken, Description: "invalid registration access token", Status: 401,
		Challenge: `Bearer realm="auth", error="invalid_token"`}
}

// Wrong registration access tokens allowed per minute (per instance): per
// client address and client id, and per client address over all clients.
const (
	ratFailureLimit     = 20
	ratAddrFailureLimit = 100
)

func (m *manageEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := managedClientID(r.URL.Path)
	if !ok {
		WriteError(w, NewError(http.StatusNotFound, CodeInvalidRequest, "no such endpoint"))
		return
	}
	if !corsMethods(w, r, http.MethodGet, http.MethodPut, http.MethodDelete) {
		return
	}
	cors(w.Header())
	c, rat, err := m.authenticate(r, id)
	if err != nil {
		m.fail(w, r, "manage", id, err)
		return
	}
	noStore(w.Header())
	switch r.Method {
	case http.MethodGet:
		// Our store keeps only the token's hash; the client just proved
		// it holds the token, so the response repeats it.
		writeJSON(w, http.StatusOK, m.cfg.registrationResponse(c, "", rat))
	case http.MethodPut:
		m.update(w, r, c)
	case http.MethodDelete:
		if err := m.clients.DeleteClient(r.Context(), c.ID); err != nil {
			m.fail(w, r, "manage", id, storeErr(err, manageUnauthorized()))
			return
		}
		m.log.InfoContext(r.Context(), "client deleted", "step", "manage", "client_id", c.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

// authenticate loads the client if the request carries its registration
// access token. Wrong tokens are throttled per client address and client
// id, and per client address over all clients (MG-07), never per client id
// alone: someone who saw a client id cannot lock its owner out, who comes
// from another address. The throttle is checked first, so a blocked
// address is refused even with the right token.
func (m *manageEndpoint) authenticate(r *http.Request, id string) (*Client, string, error) {
	now := m.now()
	ip := clientIP(r)
	pair := ip + " " + id
	if blocked, wait := m.addrFailures.blocked(ip, now); blocked {
		return nil, "", tooManyRequests("too many failed attempts from this address; retry later", wait)
	}
	if blocked, wait := m.failures.blocked(pair, now); blocked {
		return nil, "", tooManyRequests("too many failed attempts for this client; retry later", wait)
	}
	c, rat, err := m.checkToken(r, id)
	if err != nil && AsError(err).Status < 500 {
		m.failures.add(pair, now)
		m.addrFailures.add(ip, now)
	}
	return c, rat, err
}

func (m *manageEndpoint) checkToken(r *http.Request, id string) (*Client, string, error) {
	rat, err := bearerToken(r)
	if err == errNoToken || err == errQueryToken {
		return nil, "", &Error{Code: CodeInvalidRequest, Description: "registration access token required", Status: 401,
			Challenge: `Bearer realm="auth"`}
	}
	if err != nil {
		return nil, "", manageUnauthorized()
	}
	c, err := m.clients.GetClient(r.Context(), id)
	if err != nil {
		return nil, "", storeErr(err, manageUnauthorized())
	}
	if !hashMatches(rat, c.RegistrationTokenHash) {
		return nil, "", manageUnauthorized()
	}
	return c, rat, nil
}

// update is RFC 7592 §2.2: a full replacement validated like a
// registration. The registration access token is rotated, and the version
// bump voids remembered consent and outstanding codes (CD-07, MG-05).
func (m *manageEndpoint) update(w http.ResponseWriter, r *http.Request, c *Client) {
	reg, err := parseRegistration(w, r, m.cfg.MaxRegistrationBytes)
	if err == nil {
		err = checkUpdate(reg, c)
	}
	var md Metadata
	if err == nil {
		md, err = m.cfg.clientMetadata(reg)
	}
	if err == nil && md.TokenEndpointAuthMethod != c.Metadata.TokenEndpointAuthMethod {
		err = metadataErr("token_endpoint_auth_method cannot be changed; register a new client")
	}
	if err != nil {
		m.fail(w, r, "manage", c.ID, err)
		return
	}
	rat, err := m.secret("reg-")
	if err != nil {
		m.fail(w, r, "manage", c.ID, unavailable(err))
		return
	}
	next := *c
	next.Metadata = md
	next.Version++
	next.RegistrationTokenHash = HashSecret(rat)
	if err := m.clients.UpdateClient(r.Context(), &next); err != nil {
		m.fail(w, r, "manage", c.ID, storeErr(err, manageUnauthorized()))
		return
	}
	m.log.InfoContext(r.Context(), "client updated", "step", "manage", "client_id", c.ID)
	writeJSON(w, http.StatusOK, m.cfg.registrationResponse(&next, "", rat))
}

// checkUpdate enforces RFC 7592 §2.2: the body names this client, and a
// secret, if sent, is this client's.
func checkUpdate(reg *registration, c *Client) error {
	if reg.ClientID != c.ID {
		return invalidRequest("client_id in the body must match the client being updated")
	}
	if reg.ClientSecret != "" && (c.SecretHash == "" || !hashMatches(reg.ClientSecret, c.SecretHash)) {
		return invalidRequest("client_secret does not match")
	}
	return nil
}
