// Package fakegithub is an in-process stand-in for GitHub's OAuth web flow
// and the two REST endpoints the authorization server calls. It speaks the
// shapes GitHub really uses (form-encoded token responses unless JSON is
// asked for, errors with status 200, numeric user ids, a null e-mail for
// private addresses) so that tests exercise the server's real GitHub
// client, and it records every request so a test can prove GitHub was, or
// was not, contacted and that GitHub's token never leaked.
//
// Start serves one for a test (stopped by t.Cleanup); Serve serves one for
// a program without a testing.TB, the benchmarks. The login that drives
// it from the user's side is internal/login.
package fakegithub
