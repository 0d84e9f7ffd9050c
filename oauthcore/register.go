package oauthcore

import (
	"net/http"
	"time"
)

// registerEndpoint is RFC 7591 dynamic client registration, /register.
type registerEndpoint struct {
	*env
	clients ClientStore
	// limit bounds registrations per client address (DR-01).
	limit *throttle
}

func (re *registerEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodPost) {
		return
	}
	cors(w.Header())
	var err error
	defer func() { re.metrics.Registration(Outcome(err)) }()
	if err = re.registrationAllowed(r); err != nil {
		re.fail(w, r, "register", "", err)
		return
	}
	reg, err := parseRegistration(w, r, re.cfg.MaxRegistrationBytes)
	if err != nil {
		re.fail(w, r, "register", "", err)
		return
	}
	resp, err := re.register(r, reg)
	if err != nil {
		re.fail(w, r, "register", "", err)
		return
	}
	noStore(w.Header())
	writeJSON(w, http.StatusCreated, resp)
}

// registrationAllowed counts the request against its client address's
// registrations this minute (RFC 7591 §3 allows rate limits; DR-01): an
// open endpoint must not let one client fill the store.
func (re *registerEndpoint) registrationAllowed(r *http.Request) error {
	if re.cfg.RegistrationLimit < 0 {
		return nil
	}
	ip, now := clientIP(r), re.now()
	if blocked, wait := re.limit.blocked(ip, now); blocked {
		return tooManyRequests("too many registrations from this address; retry later", wait)
	}
	re.limit.add(ip, now)
	return nil
}

// register validates and stores a new client and returns the RFC 7591
// response, the only place its secrets ever appear in plain text.
func (re *registerEndpoint) register(r *http.Request, reg *registration) (map[string]any, error) {
	m, err := re.cfg.clientMetadata(reg)
	if err != nil {
		return nil, err
	}
	now := re.now()
	c := &Client{IssuedAt: now.Truncate(time.Second), Metadata: m, Version: 1}
	if c.ID, err = re.secret("client_"); err != nil {
		return nil, unavailable(err)
	}
	c.ID = c.ID[:len("client_")+22] // 132 bits
	if re.cfg.ClientLifetime > 0 {
		c.ExpiresAt = now.Add(re.cfg.ClientLifetime)
	}
	secret := ""
	if !c.Public() {
		if secret, err = re.secret(""); err != nil {
			return nil, unavailable(err)
		}
		c.SecretHash = HashSecret(secret)
		c.SecretExpiresAt = c.ExpiresAt
	}
	rat, err := re.secret("reg-")
	if err != nil {
		return nil, unavailable(err)
	}
	c.RegistrationTokenHash = HashSecret(rat)
	if err := re.clients.CreateClient(r.Context(), c); err != nil {
		return nil, unavailable(err)
	}
	re.log.InfoContext(r.Context(), "client registered", "step", "register", "client_id", c.ID,
		"auth_method", m.TokenEndpointAuthMethod, "client_name", m.ClientName)
	return re.cfg.registrationResponse(c, secret, rat), nil
}
