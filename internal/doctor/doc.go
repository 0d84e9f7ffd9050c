// Package doctor checks an MCP deployment over HTTP the way MCP clients
// (Claude, ChatGPT, VS Code, Cursor, MCP Inspector) discover and register
// with it, and says for every step whether it passes, the rule it follows,
// and the configuration change that fixes it. It is the engine of
// `caddy mcp-oauth doctor <mcp-url>`.
//
// It never logs in. The only state it creates are the client
// registrations it makes, one per client shape, and it deletes each of
// them again through RFC 7592 before it returns.
package doctor
