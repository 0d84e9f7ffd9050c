// Package gate is the bench command's gate mode: what the inline gate
// mcp_oauth_verify costs.
//
// Setup starts two Caddy processes on loopback (ES256 keys, and HS256 with
// a jwt_secret), each serving the authorization site, an unprotected
// reverse_proxy, the gated reverse_proxy and the same upstream behind
// forward_auth to /verify (the Python original's architecture); logs in
// through the real OAuth flow against a fake GitHub to get an access token
// per Caddy; and checks that every variant answers as it must. Measure
// runs wrk against the variants interleaved, round after round. Report
// gives the medians and the ratios the project targets.
//
// With -redis it also starts a redis-server and a third Caddy (ES256) whose
// store is that Redis, measures its gate next to the others, and counts the
// commands Redis processes during every run.
package gate
