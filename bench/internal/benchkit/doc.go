// Package benchkit is what the benchmarks under bench/ share: building the
// plugin's Caddy and running it on loopback ports with its own HOME, an
// in-process fake GitHub, the real login flow of an MCP client, a Redis
// server, the CPU accounting that tells the benchmark's own processes from
// other load on the machine, and the helpers of the Markdown reports.
package benchkit
