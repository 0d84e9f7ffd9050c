// Package login drives the OAuth login of an MCP client and its user
// against the authorization server, with internal/fakegithub standing in
// for GitHub: Login does it all (register a public client, /authorize
// with PKCE and an optional RFC 8707 resource, approve the consent page,
// pass GitHub and the callback, redeem the code) for the benchmarks, which
// need tokens; Browser, ParseConsent and ConsentRequest are its steps,
// which the e2e tests drive one by one to check every hop.
//
// Nothing here follows a redirect on its own: each hop is checked
// against what the server must answer, and a wrong answer is an error that
// names it.
package login
