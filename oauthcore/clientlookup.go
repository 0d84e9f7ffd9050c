package oauthcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
)

// clientGetter is what clientResolver needs of the registered clients.
type clientGetter interface {
	GetClient(ctx context.Context, id string) (*Client, error)
}

// documentFetchLimit is how many lookups that fetch a document (the
// document is not cached) one client address may cause per minute, per
// instance (SS-06): what a person signing in with a few new clients
// needs, and a bound on the documents one address makes the server fetch
// and keep.
const documentFetchLimit = 30

// clientResolver finds the client a client_id names: a Client Identifier
// URL through its metadata document, anything else in the store of
// registered clients. /authorize, /consent, /callback, /token and /revoke
// use it; /introspect gets one without documents, since every document
// client is public and only confidential clients introspect.
type clientResolver struct {
	cfg       *Config
	store     clientGetter
	documents *cimd.Resolver // nil: client_id URLs are unknown clients
	cache     cimd.Cache     // the resolver's, peeked to find lookups that fetch
	fetches   *throttle      // lookups that fetch, per client address
	now       func() time.Time
}

// documentClientVersion is the Version of every document client. A
// document has no version to bind consent and codes to; what it says is
// checked again at every step instead (revalidate, checkRefresh).
const documentClientVersion = 1

// client returns the client id names for request r. Errors are
// ErrNotFound or an outage from the store, a 429 *Error, or a
// *cimd.Error from the document lookup; clientPageErr and clientAuthErr
// map them for the endpoints.
func (cr *clientResolver) client(r *http.Request, id string) (*Client, error) {
	if cr.documents == nil || !cimd.IsClientIDURL(id) {
		return cr.store.GetClient(r.Context(), id)
	}
	if err := cr.allowFetch(r, id); err != nil {
		return nil, err
	}
	d, err := cr.documents.Lookup(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return cr.documentClient(d), nil
}

// allowFetch counts a lookup that will fetch (the document is not cached
// fresh) against the client address's budget (SS-06).
func (cr *clientResolver) allowFetch(r *http.Request, id string) error {
	now := cr.now()
	e, err := cr.cache.Get(r.Context(), id)
	if err == nil && e != nil && e.Document != nil && e.Document.ClientID == id && now.Before(e.Expires) {
		return nil
	}
	ip := clientIP(r)
	if blocked, wait := cr.fetches.blocked(ip, now); blocked {
		return tooManyRequests("too many client metadata documents asked for from this address; retry later", wait)
	}
	cr.fetches.add(ip, now)
	return nil
}

// documentClient is the public client a validated document describes.
// Its scope is narrowed as a registration's is; logo_uri is left out, as
// nothing the document points to is fetched or shown (SS-01); the name is
// cleaned of bidi and invisible characters as a registration's is.
func (cr *clientResolver) documentClient(d *cimd.Document) *Client {
	return &Client{ID: d.ClientID, Version: documentClientVersion, Metadata: Metadata{
		RedirectURIs: slices.Clone(d.RedirectURIs), ClientName: cleanDisplayText(d.ClientName, maxClientName),
		ClientURI: d.ClientURI, TOSURI: d.TOSURI, PolicyURI: d.PolicyURI,
		Scope: cr.cfg.registeredScope(d.Scope), GrantTypes: slices.Clone(d.GrantTypes),
		ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: AuthNone,
		SoftwareID: d.SoftwareID, SoftwareVersion: d.SoftwareVersion,
	}}
}

// isDocumentClient reports whether c came from a metadata document: ids
// this server issues never start with https://.
func isDocumentClient(c *Client) bool { return cimd.IsClientIDURL(c.ID) }

// documentErr returns the lookup's *cimd.Error, or nil.
func documentErr(err error) *cimd.Error {
	var de *cimd.Error
	if errors.As(err, &de) {
		return de
	}
	return nil
}

// clientPageErr maps a failed client lookup in the browser flow, where it
// is shown on a local page, never redirected (RFC 6749 §4.1.2.1, SS-04): a bad
// document or URL is 400 invalid_client, a document server that failed
// 502 or timed out 504, our own fetch bounds 503.
func clientPageErr(err error, notFound *Error) *Error {
	de := documentErr(err)
	if de == nil {
		return ownErr(err, notFound)
	}
	e := &Error{Code: CodeInvalidClient, Description: de.Reason, Status: de.Kind.Status(), Cause: de}
	if !de.Kind.Permanent() {
		e.Code, e.RetryAfter = CodeTemporarilyUnavailable, retrySeconds(de.RetryAfter)
	}
	return e
}

// clientAuthErr maps a failed client lookup at /token and /revoke: a bad
// document is invalid_client, a document out of reach is 503
// temporarily_unavailable (never invalid_*, or the client would drop its
// tokens over our neighbour's outage).
func clientAuthErr(err error) *Error {
	de := documentErr(err)
	if de == nil {
		return ownErr(err, authFailed())
	}
	if de.Kind.Permanent() {
		e := invalidClient(de.Reason)
		e.Cause = de
		return e
	}
	e := unavailable(de)
	e.Description = de.Reason + "; retry later"
	e.RetryAfter = retrySeconds(de.RetryAfter)
	return e
}

// ownErr is a refusal of ours (the fetch budget) as it is, else a store
// error.
func ownErr(err error, notFound *Error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return storeErr(err, notFound)
}

// retrySeconds is a Retry-After in whole seconds, at least 2.
func retrySeconds(d time.Duration) int {
	return max(2, int((d+time.Second-1)/time.Second))
}

// documentResolverConfig is the resolver configuration of the policy. The
// redirect URIs of a document are held to the rule /register applies.
func (c *Config) documentResolverConfig() cimd.Config {
	m := &c.ClientIDMetadata
	return cimd.Config{
		Timeout: m.Timeout, CacheMax: m.CacheMax,
		AllowedHosts: m.AllowedHosts, PrivateHosts: m.PrivateHosts,
		CheckRedirectURI: c.checkRedirectURI,
	}
}

// storeDocuments is a DocumentStore as the resolver's cache, behind a
// bounded in-memory copy: a hit costs no store call, and what another
// instance fetched is found in the store. Each copy is used only until
// its own Expires, so instances may hold different copies for at most a
// document's lifetime.
type storeDocuments struct {
	store  DocumentStore
	memory *cimd.MemoryCache
	now    func() time.Time
}

func (sd *storeDocuments) Get(ctx context.Context, clientID string) (*cimd.Entry, error) {
	if e, _ := sd.memory.Get(ctx, clientID); e != nil && sd.now().Before(e.Expires) {
		return e, nil
	}
	e, err := sd.store.GetDocument(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	_ = sd.memory.Put(ctx, clientID, e)
	return e, nil
}

func (sd *storeDocuments) Put(ctx context.Context, clientID string, e *cimd.Entry) error {
	_ = sd.memory.Put(ctx, clientID, e)
	return sd.store.PutDocument(ctx, clientID, e)
}

// sharedDocuments is storeDocuments on a store that elects one fetcher
// among the instances sharing it (cimd.FetchClaimer, by a Locker lock
// named for the document).
type sharedDocuments struct {
	*storeDocuments
	locks Locker
}

func (sd sharedDocuments) ClaimFetch(ctx context.Context, clientID string, ttl time.Duration) (func(), bool, error) {
	return sd.locks.TryLock(ctx, "docfetch:"+HashSecret(clientID), ttl)
}

// newClientResolver builds the client lookup for NewServer, without
// documents when the feature is off. Documents are cached in the store
// when it keeps them, else in memory; hook (Options.ClientIDMetadata) may
// adjust the resolver's configuration first.
func newClientResolver(c *Config, store Store, now func() time.Time, log *slog.Logger, hook func(*cimd.Config)) (*clientResolver, error) {
	cr := &clientResolver{cfg: c, store: store, now: now, fetches: newThrottle(documentFetchLimit, time.Minute)}
	if !c.ClientIDMetadata.Enabled() {
		return cr, nil
	}
	rc := c.documentResolverConfig()
	rc.Now, rc.Log, rc.Cache = now, log, &cimd.MemoryCache{Now: now}
	if ds, ok := store.(DocumentStore); ok {
		sd := &storeDocuments{store: ds, memory: &cimd.MemoryCache{Now: now}, now: now}
		rc.Cache = sd
		if locks, ok := ability[Locker](store); ok {
			rc.Cache = sharedDocuments{sd, locks}
		}
	}
	if hook != nil {
		hook(&rc)
	}
	var err error
	if cr.documents, err = cimd.New(rc); err != nil {
		return nil, clientIDMetadataErr(err)
	}
	cr.cache = rc.Cache
	return cr, nil
}

// validateClientIDMetadata checks the policy as NewServer will build it.
func (c *Config) validateClientIDMetadata() error {
	m := &c.ClientIDMetadata
	if !m.Enabled() {
		return nil
	}
	for i, hosts := range [][]string{m.AllowedHosts, m.TrustedHosts} {
		if _, err := cimd.ParseHostPatterns(hosts); err != nil {
			return clientIDMetadataErr(fmt.Errorf("%s: %w", []string{"allowed_hosts", "trusted_hosts"}[i], err))
		}
	}
	if _, err := cimd.New(c.documentResolverConfig()); err != nil {
		return clientIDMetadataErr(err)
	}
	return nil
}

// clientIDMetadataErr names the Caddyfile block in a resolver error.
func clientIDMetadataErr(err error) error {
	return errors.New("client_id_metadata: " + strings.ReplaceAll(err.Error(), "cimd: ", ""))
}
