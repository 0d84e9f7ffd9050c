// Command caddy is stock Caddy with its standard modules plus this
// plugin, for `go run ./cmd/caddy run --config Caddyfile.example` without
// installing xcaddy. The e2e tests and the benchmarks build it once per
// run (internal/caddyproc.Build) and run the binary as a child process.
package main
