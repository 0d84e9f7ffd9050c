package oauthcore

import (
	"net/http"
	"strings"
)

// managedClientID extracts {client_id} from /register/{client_id}.
func managedClientID(path string) (string, bool) {
	id, ok := strings.CutPrefix(path, pathRegister+"/")
	if !ok || id == "" || strings.Contains(id, "/") || len(id) > 64 {
		return "", false
	}
	return id, true
}

// ManagePath reports whether path is an RFC 7592 client configuration URL
// and returns its client id.
func ManagePath(path string) (string, bool) { return managedClientID(path) }

// manageUnauthorized is the single answer for a missing or wrong
// registration access token and for an unknown client, so the endpoint
// does not reveal which client ids exist (RFC 7592 §2.1, MG-01).
func manageUnauthorized() *Error {
	return &Error{Code: "invalid_token", Description: "invalid registration access token", Status: 401,
		Challenge: `Bearer realm="auth", error="invalid_token"`}
}

// bearerToken returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 7235 §2.1).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// Wrong registration access tokens allowed per minute (per instance): per
// client address and client id, and per client address over all clients.
const (
	ratFailureLimit     = 20
	ratAddrFailureLimit = 100
)

// authenticateManagement loads the client if the request carries its
// registration access token. Wrong tokens are throttled per client address
// and client id, and per client address over all clients (MG-07), never per
// client id alone: someone who saw a client id cannot lock its owner out,
// who comes from another address. The throttle is checked first, so a
// blocked address is refused even with the right token.
func (s *Server) authenticateManagement(r *http.Request, id string) (*Client, string, error) {
	now := s.now()
	ip := clientIP(r)
	pair := ip + " " + id
	if blocked, wait := s.ratAddrFailures.blocked(ip, now); blocked {
		return nil, "", tooManyRequests("too many failed attempts from this address; retry later", wait)
	}
	if blocked, wait := s.ratFailures.blocked(pair, now); blocked {
		return nil, "", tooManyRequests("too many failed attempts for this client; retry later", wait)
	}
	c, rat, err := s.checkRegistrationToken(r, id)
	if err != nil && AsError(err).Status < 500 {
		s.ratFailures.add(pair, now)
		s.ratAddrFailures.add(ip, now)
	}
	return c, rat, err
}

func (s *Server) checkRegistrationToken(r *http.Request, id string) (*Client, string, error) {
	rat, ok := bearerToken(r)
	if !ok {
		return nil, "", &Error{Code: "invalid_request", Description: "registration access token required", Status: 401,
			Challenge: `Bearer realm="auth"`}
	}
	c, err := s.store.GetClient(r.Context(), id)
	if err != nil {
		return nil, "", storeErr(err, manageUnauthorized())
	}
	if !hashMatches(rat, c.RegistrationTokenHash) {
		return nil, "", manageUnauthorized()
	}
	return c, rat, nil
}

func (s *Server) serveManage(w http.ResponseWriter, r *http.Request, id string) {
	if !corsMethods(w, r, http.MethodGet, http.MethodPut, http.MethodDelete) {
		return
	}
	cors(w.Header())
	c, rat, err := s.authenticateManagement(r, id)
	if err != nil {
		s.fail(w, r, "manage", id, err)
		return
	}
	noStore(w.Header())
	switch r.Method {
	case http.MethodGet:
		// Our store keeps only the token's hash; the client just proved
		// it holds the token, so the response repeats it.
		writeJSON(w, http.StatusOK, s.registrationResponse(c, "", rat))
	case http.MethodPut:
		s.updateClient(w, r, c)
	case http.MethodDelete:
		if err := s.store.DeleteClient(r.Context(), c.ID); err != nil {
			s.fail(w, r, "manage", id, storeErr(err, manageUnauthorized()))
			return
		}
		s.log.InfoContext(r.Context(), "client deleted", "step", "manage", "client_id", c.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

// updateClient is RFC 7592 §2.2: a full replacement validated like a
// registration. The registration access token is rotated, and the version
// bump voids remembered consent and outstanding codes (CD-07, MG-05).
func (s *Server) updateClient(w http.ResponseWriter, r *http.Request, c *Client) {
	reg, err := s.parseRegistration(w, r)
	if err == nil {
		err = s.checkUpdate(reg, c)
	}
	var m Metadata
	if err == nil {
		m, err = s.metadata(reg)
	}
	if err == nil && m.TokenEndpointAuthMethod != c.Metadata.TokenEndpointAuthMethod {
		err = metadataErr("token_endpoint_auth_method cannot be changed; register a new client")
	}
	if err != nil {
		s.fail(w, r, "manage", c.ID, err)
		return
	}
	rat, err := s.secret("reg-")
	if err != nil {
		s.fail(w, r, "manage", c.ID, unavailable(err))
		return
	}
	next := *c
	next.Metadata = m
	next.Version++
	next.RegistrationTokenHash = HashSecret(rat)
	if err := s.store.UpdateClient(r.Context(), &next); err != nil {
		s.fail(w, r, "manage", c.ID, storeErr(err, manageUnauthorized()))
		return
	}
	s.log.InfoContext(r.Context(), "client updated", "step", "manage", "client_id", c.ID)
	writeJSON(w, http.StatusOK, s.registrationResponse(&next, "", rat))
}

// checkUpdate enforces RFC 7592 §2.2: the body names this client, and a
// secret, if sent, is this client's.
func (s *Server) checkUpdate(reg *registration, c *Client) error {
	if reg.ClientID != c.ID {
		return invalidRequest("client_id in the body must match the client being updated")
	}
	if reg.ClientSecret != "" && (c.SecretHash == "" || !hashMatches(reg.ClientSecret, c.SecretHash)) {
		return invalidRequest("client_secret does not match")
	}
	return nil
}
