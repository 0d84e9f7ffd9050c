// Command bench measures the plugin on this machine, in one of two modes:
//
//	go run ./bench gate [flags]    the inline gate mcp_oauth_verify against no auth and forward_auth
//	go run ./bench tokens [flags]  the refresh grant and client registration, embedded store vs Redis
//
// Each mode builds the plugin's Caddy once (or takes -caddy), runs
// everything on 127.0.0.1 in plain http, logs in through the real OAuth
// flow against an in-process fake GitHub, and goes through the same three
// steps: setup (processes, tokens, checks), measure (rounds of load,
// profiles), report (Markdown, printed and written to
// bench/results/<mode>.md, replacing the previous run's). `go run ./bench
// <mode> -h` lists a mode's flags; bench/README.md says what is measured
// and how to read the report.
package main
