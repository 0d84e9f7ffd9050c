#!/usr/bin/env bash
# Runs the fuzz targets, each for the given duration (Go syntax: 30s, 10m).
#
#   scripts/fuzz.sh 10m                      # every target, one after the other
#   scripts/fuzz.sh 2m FuzzToken FuzzBearer  # just these
#
# The seed corpora (testdata/fuzz/) run with every `go test` (and so in
# scripts/test.sh); this script runs the fuzzer itself. A finding is
# written to the package's testdata/fuzz/<target>/ by go test: fix it and
# commit that file, so the input stays in the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
	echo "usage: scripts/fuzz.sh <duration> [<target>...]" >&2
	exit 2
fi
duration=$1
shift

# Every target as package:Name, found in the test files.
mapfile -t all < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg="./$(dirname "${f#./}")"
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$pkg:|"
done)

want=("$@")
status=0
ran=0
for entry in "${all[@]}"; do
	pkg=${entry%%:*}
	name=${entry##*:}
	if [ ${#want[@]} -gt 0 ]; then
		match=0
		for w in "${want[@]}"; do [ "$w" = "$name" ] && match=1; done
		[ $match -eq 1 ] || continue
	fi
	ran=$((ran + 1))
	echo "== $name ($pkg) for $duration"
	start=$(date +%s)
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$duration"; then
		echo "!! $name found a failing input (see $pkg/testdata/fuzz/$name/)"
		status=1
	fi
	echo "== $name: $(( $(date +%s) - start )) s"
done
if [ $ran -eq 0 ]; then
	echo "no fuzz target named ${want[*]}; targets: ${all[*]##*:}" >&2
	exit 2
fi
exit $status
