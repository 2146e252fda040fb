#!/usr/bin/env bash
# `make stress`: the failover and hang tests of ./tests, STRESS_COUNT times in
# a row, while internal/cpuburn keeps every core busy. Every operation of
# those tests runs under internal/watchdog, so a hang ends its run within a
# second of the operation's deadline with every goroutine's stack, and the
# run counts as failed. Prints one line per run and "stress: P/N runs passed";
# exits non-zero unless every run passed.
# STRESS_VERSIONS="14 18" makes the runs on each of those PostgreSQL major
# versions in turn (STRESS_COUNT runs each, binaries from
# scripts/ensure-pg-version.sh), under the same burner; empty: the server
# chosen as for make test (UNIFIEDDB_PG_BINDIR, else the machine's).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

count=${STRESS_COUNT:-10}
versions=${STRESS_VERSIONS:-}
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

# Every version's binaries before the clock starts.
for v in $versions; do
	scripts/ensure-pg-version.sh "$v" >/dev/null
done

# Build once: the runs then measure the tests, not the compiler.
"$go" build -o "$work/cpuburn" ./internal/cpuburn
"$go" test -c -race -o "$work/tests.test" ./tests

# The burner stops by itself when this script exits, however it exits.
"$work/cpuburn" -max 3h &
burner=$!

passed=0
total=0
for v in ${versions:-default}; do
	on=
	if [ "$v" != default ]; then
		UNIFIEDDB_PG_BINDIR=$(scripts/ensure-pg-version.sh "$v")
		export UNIFIEDDB_PG_BINDIR
		on=" on PostgreSQL $v"
	fi
	for i in $(seq 1 "$count"); do
		total=$((total + 1))
		start=$SECONDS
		log="$work/run$total.log"
		if (cd tests && "$work/tests.test" -test.run "$pattern" -test.count=1 -test.v -test.timeout 15m) >"$log" 2>&1; then
			passed=$((passed + 1))
			echo "stress: run $i/$count$on passed in $((SECONDS - start))s"
			grep -A2 -- '--- SKIP' "$log" || true # skipped tests say why
		else
			echo "stress: run $i/$count$on FAILED in $((SECONDS - start))s; its output:"
			cat "$log"
		fi
	done
done
echo "stress: $passed/$total runs passed"
[ "$passed" -eq "$total" ]
