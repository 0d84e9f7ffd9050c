// Package e2e holds the end-to-end tests: each test builds nothing itself
// but starts the plugin's Caddy binary (built once by TestMain) as a real
// process on loopback HTTPS with `tls internal`, an embedded bolt store in
// its own data directory, and internal/fakegithub as GitHub, then drives
// it the way MCP clients and browsers do. Test names carry the IDs of
// /work/shared/docs/security-checklist.md that they prove.
package e2e
