#!/usr/bin/env bash
# `make stress`: the failover and hang tests of ./tests, STRESS_COUNT times in
# a row, while internal/cpuburn keeps every core busy. Every operation of
# those tests runs under internal/watchdog, so a hang ends its run within a
# second of the operation's deadline with every goroutine's stack, and the
# run counts as failed. Prints one line per run and "stress: P/N runs passed";
# exits non-zero unless every run passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

count=${STRESS_COUNT:-10}
pattern=${STRESS_RUN:-'Crash|Hung|Switchover|Lagging|Down|Split|Passive|Unreachable'}
go=${GO:-go}

work=$(mktemp -d)
burner=
cleanup() {
	if [ -n "$burner" ]; then
		kill "$burner" 2>/dev/null || true
		wait "$burner" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# Build once: the runs then measure the tests, not the compiler.
"$go" build -o "$work/cpuburn" ./internal/cpuburn
"$go" test -c -race -o "$work/tests.test" ./tests

# The burner stops by itself when this script exits, however it exits.
"$work/cpuburn" -max 3h &
burner=$!

passed=0
for i in $(seq 1 "$count"); do
	start=$SECONDS
	log="$work/run$i.log"
	if (cd tests && "$work/tests.test" -test.run "$pattern" -test.count=1 -test.v -test.timeout 15m) >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "stress: run $i/$count passed in $((SECONDS - start))s"
		grep -A2 -- '--- SKIP' "$log" || true # skipped tests say why
	else
		echo "stress: run $i/$count FAILED in $((SECONDS - start))s; its output:"
		cat "$log"
	fi
done
echo "stress: $passed/$count runs passed"
[ "$passed" -eq "$count" ]
