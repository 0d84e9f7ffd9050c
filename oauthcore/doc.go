// Package oauthcore is the OAuth 2.1 authorization server and token verifier
// of caddy-mcp-oauth, written against plain net/http.
//
// Every endpoint follows the same three steps: parse the request into a
// typed value, decide on the Server (pure logic over the store interfaces),
// and write the response. The Caddy adapters in package caddymodule are thin
// wrappers around these; the stores (boltstore, redisstore) implement the
// small interfaces declared in store.go and are checked by one conformance
// suite in oauthcore/storetest.
//
// This package must never import Caddy, zap or go-redis: a test over
// `go list -deps` keeps it that way, so the protocol can be reasoned about
// and tested without a web server.
package oauthcore
