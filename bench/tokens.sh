#!/usr/bin/env bash
# Measures the token endpoint's refresh grant and client registration with
# the embedded store and with Redis (one instance and two sharing it); see
# bench/README.md. Installs redis-server with apt-get when it is missing,
# then runs `go run ./bench tokens` from the module root. Arguments go
# to the program (e.g. -rounds 5 -duration 10s, or -profile 10s).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
	echo "installing redis-server (needed by the benchmark)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi

exec go run ./bench tokens "$@"
