// Package fakegithub is an in-process stand-in for GitHub's OAuth web flow
// and the two REST endpoints the authorization server calls. It speaks the
// shapes GitHub really uses (form-encoded token responses unless JSON is
// asked for, errors with status 200, numeric user ids, a null e-mail for
// private addresses) so that tests exercise the server's real GitHub
// client, and it records every request so a test can prove GitHub was, or
// was not, contacted and that GitHub's token never leaked.
//
// Beyond the login it serves what org and team policies and the user's
// token need, with GitHub's JSON, status codes and headers: /user/orgs and
// /user/teams (paginated with Link headers, SSO-protected orgs left out
// with X-GitHub-SSO: partial-results), /orgs/{org},
// /orgs/{org}/members/{user}, /orgs/{org}/teams/{slug} and its
// /memberships/{user} (child teams count), /user/memberships/orgs/{org},
// 403 SSO challenges, rate-limit headers and outages (SetOutage), GitHub
// App user tokens (Options.App: ghu_ tokens that expire, ghr_ refresh
// tokens, bad_refresh_token) and DELETE /applications/{client_id}/token.
//
// Start serves one for a test (stopped by t.Cleanup); Serve serves one for
// a program without a testing.TB, the benchmarks. The login that drives
// it from the user's side is internal/login.
package fakegithub
