package oauthcore

import (
	"context"
	"errors"
)

// AdminStore is what the operator's admin API reads: every live client
// and grant, page by page, and a grant by id. A cursor is opaque: ""
// starts a listing, and the returned next cursor is "" once it is done.
// A page holds at most limit records and may hold fewer before the end
// (Redis SCAN gives no exact counts); a record created or deleted during
// a listing may or may not appear, but every record live throughout it
// appears exactly once. Secrets are hashes here as everywhere.
type AdminStore interface {
	ListClients(ctx context.Context, cursor string, limit int) (clients []*Client, next string, err error)
	ListGrants(ctx context.Context, cursor string, limit int) (grants []*Grant, next string, err error)
	// GetGrant returns a live grant (ErrNotFound otherwise).
	GetGrant(ctx context.Context, id string) (*Grant, error)
}

// ErrInvalidCursor: a listing cursor the store did not hand out.
var ErrInvalidCursor = errors.New("invalid cursor")
