#!/usr/bin/env bash
# Measures the inline gate (mcp_oauth_verify) against no auth and against
# forward_auth to /verify, for ES256 and HS256 tokens; see bench/README.md.
# Installs wrk (and, for -redis, redis-server) with apt-get when missing,
# then runs `go run ./bench gate` from the module root. Arguments go
# to the program (e.g. -rounds 10 -duration 10s, -profile 10s, -redis).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
for arg in "$@"; do
	case "$arg" in
	-redis | --redis | -redis=true | --redis=true)
		command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || need+=(redis-server)
		;;
	esac
done
if [ "${#need[@]}" -gt 0 ]; then
	echo "installing ${need[*]} (needed by the benchmark)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

exec go run ./bench gate "$@"
