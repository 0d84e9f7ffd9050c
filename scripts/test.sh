#!/usr/bin/env bash
# Runs every test of caddy-mcp-oauth: unit, Caddyfile golden files, the
# end-to-end tests against a real Caddy process, the headless-Chromium
# consent test, and the official MCP TypeScript SDK client (e2e/tsclient,
# run by node), and the Redis store and multi-instance tests against real
# redis-server processes the tests start on free loopback ports. Installs
# what the tests need (Debian's chromium, redis-server, nodejs and npm, and
# e2e/tsclient's pinned npm packages) when it is missing.
# Extra arguments go to `go test` (e.g. -run TestX -v).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} (needed by the tests)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The TypeScript SDK client's packages, exactly as package-lock.json pins
# them; again when the lock file changed since the last install.
if [ ! -d e2e/tsclient/node_modules ] || [ e2e/tsclient/package-lock.json -nt e2e/tsclient/node_modules/.package-lock.json ]; then
	echo "installing e2e/tsclient's npm packages (npm ci)"
	(cd e2e/tsclient && npm ci --no-audit --no-fund)
fi

go test -count=1 -timeout 20m "$@" ./...
