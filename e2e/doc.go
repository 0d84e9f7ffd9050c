// Package e2e holds the end-to-end tests: each test builds nothing itself
// but starts the plugin's Caddy binary (built once by TestMain) as a real
// process on loopback HTTPS with `tls internal`, an embedded bolt store in
// its own data directory, and internal/fakegithub as GitHub, then drives
// it the way MCP clients and browsers do. Test names carry the IDs of the
// rules they prove, as suffixes (TestCodeRace_AC03); the rules are listed in
// docs/security-checklist.md at the repository root.
package e2e
