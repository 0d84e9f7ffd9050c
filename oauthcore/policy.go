package oauthcore

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// policy decides who may use the server: a user is allowed when
// allowed_users, allowed_orgs or allowed_teams admits them. It is applied
// at login, on every refresh and (through the gate's cache) within
// membership_ttl at the gate.
type policy struct {
	users   *allowList
	members *memberships // nil without org or team lists
	webURL  string       // GitHub's web origin: SSO links must point there
	// scopes are the OAuth App scopes a user's token is asked for.
	scopes []string
}

// errNotAllowed: the user is on no list (any more).
var errNotAllowed = errors.New("this GitHub account is not allowed to use this server")

// admit applies the policy to a user holding token (the user's GitHub
// access token, "" when there is none). Errors: errNotAllowed,
// errGitHubTokenRevoked, an *ssoError, or an *Error (an outage: GitHub
// or the login resolution cannot say now, which never reads as "no").
func (p *policy) admit(ctx context.Context, u User, token string) (Membership, error) {
	byUser, uerr := p.users.allows(ctx, u)
	if p.members == nil {
		if byUser {
			return Membership{}, nil
		}
		return Membership{}, orNotAllowed(uerr)
	}
	if token == "" {
		// A grant made before org and team lists were set has no token
		// to check them with: the users list alone decides.
		if byUser {
			return Membership{}, nil
		}
		return Membership{}, orNotAllowed(uerr)
	}
	ms, merr := p.members.check(ctx, u, token)
	switch {
	case errors.Is(merr, errGitHubTokenRevoked):
		return Membership{}, merr
	case byUser || ms.any():
		return ms, nil
	case errors.As(merr, new(*ssoError)):
		return Membership{}, merr
	case merr != nil:
		// An outage, or an answer GitHub should not give: either way
		// GitHub did not say "not a member" (503, never 500 or a denial).
		return Membership{}, unavailable(merr)
	}
	return Membership{}, orNotAllowed(uerr)
}

func orNotAllowed(err error) error {
	if err != nil {
		return err
	}
	return errNotAllowed
}

// loginError is what the browser is shown when admit refuses at login.
func (p *policy) loginError(err error) *Error {
	var se *ssoError
	switch {
	case errors.As(err, &se):
		e := NewError(http.StatusForbidden, CodeAccessDenied, "the organization "+se.org+
			" enforces SAML single sign-on: authorize this application for it at GitHub, then sign in again")
		if strings.HasPrefix(se.URL, p.webURL+"/") {
			e.Link = se.URL
		}
		e.Cause = err
		return e
	case errors.Is(err, errNotAllowed), errors.Is(err, errGitHubTokenRevoked):
		return NewError(http.StatusForbidden, CodeAccessDenied, "this GitHub account is not allowed to use this server")
	}
	return AsError(err)
}

// endsGrant reports whether a re-check's error means the grant is over
// (the user is on no list, their GitHub token is dead, an org now wants
// SSO): anything else is an outage, and the grant stays.
func endsGrant(err error) bool {
	return errors.Is(err, errNotAllowed) || errors.Is(err, errGitHubTokenRevoked) || errors.As(err, new(*ssoError))
}

// withMembership returns u with the orgs and teams a check found.
func withMembership(u User, ms Membership) User {
	u.Orgs, u.Teams = ms.Orgs, ms.Teams
	return u
}
