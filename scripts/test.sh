#!/usr/bin/env bash
# `make test`: go test -race of every package, with the long ./tests package
# split into TEST_SHARDS processes (default 2) that run side by side with
# the other packages. Its tests mostly wait on servers (failovers, timeouts),
# so one process left a 2-core machine two-thirds idle: 593 s for ./tests
# alone out of 11.6 min. Each shard starts its own local clusters on free
# ports; the tests already pass under make stress's CPU burner, so the
# shards' load on each other is within what they are built for.
# Each process's `go test -json` goes through internal/testprogress; the
# script fails when any of them fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

go=${GO:-go}
shards=${TEST_SHARDS:-2}
flags=(-race -count=1 -timeout 20m -json)

# Build the progress printer once: three `go run` would race to build it.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$go" build -o "$work/testprogress" ./internal/testprogress || exit 1

mapfile -t others < <("$go" list ./... | grep -v '/tests$')
# The test names of ./tests, in source order; listing compiles the package
# with the same flags, so the shards reuse the build.
mapfile -t names < <("$go" test -race -list '^Test' ./tests | grep '^Test')
if [ "${#names[@]}" -eq 0 ]; then
	echo "test.sh: no test listed in ./tests (does it build?)" >&2
	"$go" vet ./tests
	exit 1
fi

pids=()
("$go" test "${flags[@]}" "${others[@]}" | "$work/testprogress") &
pids+=($!)
for ((s = 0; s < shards; s++)); do
	pattern=
	for ((i = s; i < ${#names[@]}; i += shards)); do
		pattern+="${pattern:+|}${names[i]}"
	done
	("$go" test "${flags[@]}" -run "^(${pattern})\$" ./tests | "$work/testprogress") &
	pids+=($!)
done

failed=0
for pid in "${pids[@]}"; do
	wait "$pid" || failed=1
done
if [ "$failed" -ne 0 ]; then
	echo "make test: FAILED (the output of what failed is above)" >&2
	exit 1
fi
echo "make test: every package passed (./tests in $shards shards)"
