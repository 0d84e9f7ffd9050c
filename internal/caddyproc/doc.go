// Package caddyproc runs the plugin's Caddy as a child process, for the
// end-to-end tests (e2e) and the benchmarks (bench): Build compiles
// ./cmd/caddy once, Start runs it with its own HOME and XDG directories on
// free loopback ports (retrying on other ports when one was taken between
// the probe and Caddy's bind) and returns once a URL of the caller's
// choice answers 200; Restart runs it again on the same ports and data,
// Reload applies a re-rendered Caddyfile through the admin API, Stop ends
// it. Poll is the one way both wait for a state they can observe.
//
// It knows nothing of testing.T: the tests wrap its errors in t.Fatal, the
// benchmarks return them.
package caddyproc
