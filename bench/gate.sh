#!/usr/bin/env bash
# Measures the inline gate (mcp_oauth_verify) against no auth and against
# forward_auth to /verify, for ES256 and HS256 tokens; see bench/README.md.
# Installs wrk with apt-get when it is missing, then runs
# `go run ./bench/gatebench` from the module root. Arguments go to the
# program (e.g. -rounds 10 -duration 10s, or -profile 10s).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
	echo "installing wrk (needed by the benchmark)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi

exec go run ./bench/gatebench "$@"
