package oauthcore

import (
	"context"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
)

// The store interfaces are small on purpose: each endpoint depends on the
// part it uses. Keys named "hash" are SHA-256 hex digests of bearer secrets
// (see HashSecret); a store never sees a plain secret. Every method returns
// ErrNotFound for a missing or expired record; any other error is an outage.
// All stores are checked by the conformance suite in oauthcore/storetest.

// ClientStore keeps registered clients.
type ClientStore interface {
	CreateClient(ctx context.Context, c *Client) error
	// GetClient returns ErrNotFound for unknown and expired clients. A
	// client whose ExpiresAt has passed stays alive while it has a live
	// grant (a registration never expires under a valid refresh token).
	GetClient(ctx context.Context, id string) (*Client, error)
	// UpdateClient replaces a stored client (ErrNotFound if it is gone).
	UpdateClient(ctx context.Context, c *Client) error
	// DeleteClient removes the client and revokes every grant of it.
	DeleteClient(ctx context.Context, id string) error
}

// FlowStore keeps pending browser flows.
type FlowStore interface {
	PutFlow(ctx context.Context, hash string, f *Flow) error
	// TakeFlow returns the flow and deletes it in one atomic step, so a flow
	// can be completed once only.
	TakeFlow(ctx context.Context, hash string) (*Flow, error)
	// GetFlow reads a flow without consuming it.
	GetFlow(ctx context.Context, hash string) (*Flow, error)
}

// CodeStore keeps authorization codes.
type CodeStore interface {
	PutCode(ctx context.Context, hash string, c *AuthCode) error
	// PeekCode reads a code that has not been consumed yet.
	PeekCode(ctx context.Context, hash string) (*AuthCode, error)
	// ConsumeCode marks the code used in one atomic step and returns it.
	// Exactly one of any number of concurrent callers gets it; the others,
	// and every later caller until the code expires, get ErrCodeUsed with
	// the tombstone (whose GrantID tells what the code produced).
	ConsumeCode(ctx context.Context, hash string) (*AuthCode, error)
	// SetCodeGrant records on a used code the grant it produced.
	SetCodeGrant(ctx context.Context, hash, grantID string) error
}

// GrantStore keeps grants and their refresh-token index.
type GrantStore interface {
	// CreateGrant stores a new grant and indexes its RefreshHash. It
	// returns ErrConflict when the id is in use or was revoked (a code
	// replay may revoke a grant before its first redemption creates it).
	CreateGrant(ctx context.Context, g *Grant) error
	// GrantByRefresh finds the grant that any refresh token of its family
	// (current, previous or older) belongs to.
	GrantByRefresh(ctx context.Context, hash string) (*Grant, error)
	// UpdateGrant stores g if the stored version is still g.Version-1
	// (ErrConflict otherwise) and indexes a new RefreshHash.
	UpdateGrant(ctx context.Context, g *Grant) error
	// RevokeGrant deletes the grant and its refresh-token index and records
	// the revocation until the grant would have expired. Unknown ids are
	// not an error: they are remembered for a while, so a later
	// CreateGrant with that id fails.
	RevokeGrant(ctx context.Context, id string) error
	// GrantRevoked reports whether a grant was revoked (or no longer exists).
	GrantRevoked(ctx context.Context, id string) (bool, error)
}

// RevocationStore keeps revoked access-token ids until the tokens expire.
type RevocationStore interface {
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	TokenRevoked(ctx context.Context, jti string) (bool, error)
}

// ConsentStore remembers which browser approved which client registration.
type ConsentStore interface {
	PutConsent(ctx context.Context, hash string, expiresAt time.Time) error
	HasConsent(ctx context.Context, hash string) (bool, error)
}

// KeyStore keeps the asymmetric signing keys shared by every instance.
type KeyStore interface {
	// LoadKeys returns the stored set (ErrNotFound if none).
	LoadKeys(ctx context.Context) (*KeySet, error)
	// SaveKeys stores ks if the stored version is still ks.Version-1
	// (0 meaning none stored), ErrConflict otherwise.
	SaveKeys(ctx context.Context, ks *KeySet) error
}

// Store is everything the server needs.
type Store interface {
	ClientStore
	FlowStore
	CodeStore
	GrantStore
	RevocationStore
	ConsentStore
	KeyStore
	RevocationNotifier
	AdminStore // store_admin.go
}

// RevocationNotifier tells a process about revocations made anywhere (in
// this process, or by another instance sharing the store), so the gate's
// cache of verified tokens can drop them at once.
type RevocationNotifier interface {
	// Subscribe registers fn, called with kind "grant" or "token" and the
	// id after each revocation (a deleted client announces each of its
	// grants). A store whose announcements can be lost (a dropped pub/sub
	// connection) calls fn("all", "") once it is listening again, so caches
	// forget everything they verified. fn must be quick. cancel unregisters
	// it: a config reload builds a new cache against the same shared store.
	Subscribe(fn func(kind, id string)) (cancel func())
}

// NotifierHealth is implemented by stores whose announcements can stop
// arriving (a pub/sub connection that dropped). While NotifierLive is
// false the verifier serves nothing from its cache, so a revocation made
// meanwhile is seen on the next request. It is called on every request:
// make it an atomic load.
type NotifierHealth interface {
	NotifierLive() bool
}

// DocumentStore is implemented by stores that keep fetched client
// metadata documents for the server's resolver (internal/cimd), so that
// every instance on the store agrees on a document and fetches it once
// per lifetime between them. Keys are client_id URLs (a store may hash
// them). GetDocument returns ErrNotFound when there is none or it has
// expired (Entry.Expires); PutDocument replaces, and may drop an entry
// that has already expired. Only validated documents are put, and the
// resolver checks expiry and client_id on every read.
type DocumentStore interface {
	GetDocument(ctx context.Context, clientID string) (*cimd.Entry, error)
	PutDocument(ctx context.Context, clientID string, e *cimd.Entry) error
}

// Locker is implemented by stores that several instances share, for work
// that must happen once between them (renewing a GitHub App token, whose
// refresh token GitHub accepts once; fetching a client metadata document
// that none of them holds). TryLock takes name for ttl unless
// someone holds it (ok false); release gives it back early.
type Locker interface {
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)
}

// A StoreWrapper is a Store around another one (metrics, faults): Unwrap
// returns the store inside, so that the server finds the optional
// abilities of the store underneath (Locker, RateCounter) that the
// wrapper does not forward itself.
type StoreWrapper interface {
	Unwrap() Store
}

// ability returns the first store, from s inward through StoreWrappers,
// that has the optional ability T.
func ability[T any](s any) (T, bool) {
	for s != nil {
		if t, ok := s.(T); ok {
			return t, true
		}
		w, ok := s.(StoreWrapper)
		if !ok {
			break
		}
		s = w.Unwrap()
	}
	var zero T
	return zero, false
}
