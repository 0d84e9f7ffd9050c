package oauthcore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
)

// allowList is the GitHub allow-list with its logins resolved to GitHub's
// numeric user ids. A login is only a name: its owner can rename, and
// someone else can take the name. The id a login had when this server
// first resolved it is pinned, so a later holder of the name gets
// access_denied (CD-09); operators who list ids avoid the question.
type allowList struct {
	entries  []string
	upstream Upstream // resolves logins when it is a UserResolver
	log      *slog.Logger
	pins     pins[string] // lowercased login -> pinned id
}

func newAllowList(entries []string, upstream Upstream, log *slog.Logger) *allowList {
	al := &allowList{upstream: upstream, log: log}
	for _, e := range entries {
		if e = strings.TrimSpace(e); e != "" {
			al.entries = append(al.entries, e)
		}
	}
	return al
}

// UserResolver looks up the numeric id of a GitHub login.
type UserResolver interface {
	ResolveLogin(ctx context.Context, login string) (id string, err error)
}

// errUnknownLogin is returned by resolvers for a login GitHub does not know.
var errUnknownLogin = errors.New("no such GitHub login")

// resolveAll pins the ids of allow-listed logins not resolved yet.
func (al *allowList) resolveAll(ctx context.Context) error {
	var errs []error
	for _, e := range al.entries {
		if e == "*" || isNumeric(e) {
			continue
		}
		if _, err := al.loginID(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loginID returns the pinned id of an allow-listed login, resolving it the
// first time.
func (al *allowList) loginID(ctx context.Context, login string) (string, error) {
	return al.pins.get(strings.ToLower(login), func() (string, error) {
		resolver, ok := al.upstream.(UserResolver)
		if !ok {
			return "", errors.New("the identity provider cannot resolve logins")
		}
		return resolver.ResolveLogin(ctx, login)
	})
}

// pins maps names to the identity first resolved for them: once pinned,
// a name keeps meaning that identity, whoever holds the name later.
type pins[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

// get returns the pin of key, resolving and pinning it the first time; a
// concurrent resolution that lost keeps the first pin.
func (p *pins[V]) get(key string, resolve func() (V, error)) (V, error) {
	p.mu.RLock()
	v, ok := p.m[key]
	p.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := resolve()
	if err != nil {
		return v, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if pinned, ok := p.m[key]; ok {
		return pinned, nil
	}
	if p.m == nil {
		p.m = map[string]V{}
	}
	p.m[key] = v
	return v, nil
}

// allows applies the allow-list: "*" lets every GitHub user in, numeric
// entries match the id, login entries match case-insensitively and only
// for the id pinned for that login. An empty list lets nobody in (S11). A
// login GitHub does not know denies. A login that cannot be resolved now
// (GitHub down, rate limited) decides nothing: when no other entry admits
// the user, the answer is an outage (503), never a denial, so a transient
// upstream failure cannot end a grant (RT-09).
func (al *allowList) allows(ctx context.Context, u User) (bool, error) {
	var unresolved error
	for _, e := range al.entries {
		switch {
		case e == "*", e == u.ID:
			return true, nil
		case isNumeric(e) || !strings.EqualFold(e, u.Login):
			continue
		}
		id, err := al.loginID(ctx, e)
		if errors.Is(err, errUnknownLogin) {
			continue
		}
		if err != nil {
			al.log.WarnContext(ctx, "could not resolve an allowed GitHub login to its id", "login", e, "cause", err.Error())
			unresolved = err
			continue
		}
		if id == u.ID {
			return true, nil
		}
	}
	if unresolved != nil {
		return false, unavailable(unresolved)
	}
	return false, nil
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
