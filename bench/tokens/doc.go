// Package tokens is the bench command's tokens mode: the throughput of the
// token endpoint's refresh grant and of dynamic client registration, with
// the embedded store and with Redis, on one instance and on two instances
// sharing that Redis.
//
// Setup starts a redis-server and three Caddy processes on loopback (one
// on the embedded bolt store; two on the Redis, with the same issuer, as
// behind a load balancer), gets one grant per load worker and store
// through the real login flow against a fake GitHub, and traces one
// request of each kind through Redis. Measure runs a Go load generator
// against the variants interleaved, round after round: for the refresh
// grant every worker presents its grant's current refresh token and keeps
// the rotated one from every response; for registration it posts a small
// public-client registration. Against two instances each worker
// alternates between them. Report gives the medians, the ratios and what
// each request costs its store.
package tokens
