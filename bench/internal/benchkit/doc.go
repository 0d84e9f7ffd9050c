// Package benchkit is what the two modes of the bench command share beyond
// the Caddy processes (internal/caddyproc) and the login
// (internal/login): the Mode contract the command drives (setup, measure,
// report), the common flags, the CPU accounting that tells the
// benchmark's own processes from other load on the machine and repeats a
// disturbed run, a redis-server with its command counters and MONITOR
// trace, CPU profiles through Caddy's admin API, and the figures and
// formats of the Markdown reports.
package benchkit
