package oauthcore

import (
	"context"
	"errors"
	"slices"
	"time"
)

// rotateNow adds a freshly generated key to the stored set whatever the
// rotation schedule says (an operator suspects a leak, or rehearses). It
// signs after keyActivationDelay unless it is the first key; the next
// sync retires the older ones as usual.
func (k *keyring) rotateNow(ctx context.Context) (string, time.Time, error) {
	for attempt := 0; attempt < 5; attempt++ {
		ks, err := k.store.LoadKeys(ctx)
		if errors.Is(err, ErrNotFound) {
			ks, err = &KeySet{}, nil
		}
		if err != nil {
			return "", time.Time{}, err
		}
		now := k.now()
		key, err := k.generate(now)
		if err != nil {
			return "", time.Time{}, err
		}
		if len(ks.Keys) > 0 {
			key.ActivateAt = now.Add(keyActivationDelay)
		}
		next := &KeySet{Version: ks.Version + 1, Keys: append(slices.Clone(ks.Keys), key)}
		if err := k.store.SaveKeys(ctx, next); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return "", time.Time{}, err
		}
		activates := key.ActivateAt
		if activates.IsZero() {
			activates = now
		}
		return key.ID, activates, k.install(next)
	}
	return "", time.Time{}, errors.New("signing keys: too many concurrent updates")
}

// ErrNotAllowed: the user the admin API was asked to mint a token for is
// not on the allow-list.
var ErrNotAllowed = NewError(403, CodeAccessDenied, "this GitHub user is not allowed to log in (github allowed_users)")

// allowedUser resolves a GitHub login or numeric id to the user, and
// checks the allow-list as a login would.
func (a *Admin) allowedUser(ctx context.Context, who string) (User, error) {
	al := a.s.allow
	if who == "" {
		return User{}, invalidRequest("user (a GitHub login or numeric id) is required")
	}
	u := User{ID: who}
	if isNumeric(who) {
		// A login entry admits this id only through its pinned id.
		for _, e := range al.entries {
			if e != "*" && !isNumeric(e) {
				if id, err := al.loginID(ctx, e); err == nil && id == who {
					u.Login = e
				}
			}
		}
	} else {
		resolver, ok := al.upstream.(UserResolver)
		if !ok {
			return User{}, invalidRequest("the identity provider cannot resolve logins: give the numeric id")
		}
		id, err := resolver.ResolveLogin(ctx, who)
		if errors.Is(err, errUnknownLogin) {
			return User{}, NewError(404, CodeInvalidRequest, "GitHub has no user "+who)
		}
		if err != nil {
			return User{}, unavailable(err)
		}
		u = User{ID: id, Login: who}
	}
	ok, err := al.allows(ctx, u)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, ErrNotAllowed
	}
	return u, nil
}
