#!/usr/bin/env bash
# make fuzz: every fuzz target of vigil for FUZZTIME each (default 60s).
# A failure leaves its input in the package's testdata/fuzz/FuzzXxx/, where
# the plain test run replays it from then on: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}
status=0
while IFS= read -r line; do
	file=${line%%:*}
	target=${line##*func }
	target=${target%%(*}
	pkg=$(dirname "$file")
	echo "== $pkg $target ($fuzztime)"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" || status=1
done < <(grep -rn --include='*_test.go' '^func Fuzz' . | grep -v '^./lab/')
exit "$status"
