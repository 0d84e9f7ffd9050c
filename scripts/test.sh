#!/usr/bin/env bash
# Runs every test of caddy-mcp-oauth: unit, Caddyfile golden files, the
# end-to-end tests against a real Caddy process, and the headless-Chromium
# consent test. Installs what the tests need (Debian's chromium) when it is
# missing. Extra arguments go to `go test` (e.g. -run TestX -v).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} (needed by the tests)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

go test -count=1 -timeout 20m "$@" ./...
