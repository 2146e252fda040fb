#!/usr/bin/env bash
# The fast core tests (go test ./plugin/ ./internal/cluster/, no server) and
# their coverage of the routing and health code: the failover machine and its
# effects (internal/cluster), the routing decisions, retries, error
# classification and read-your-writes (plugin). Each package's tests count
# for both (-coverpkg).
# Fails under CORE_MIN percent (85). The database/sql adapters of the query
# path (route_conn.go, pool.go) and the probes need a server: the cluster
# suites cover them. File names are unique across the two packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
CORE_MIN=${CORE_MIN:-85}
core="machine.go effects.go topology.go lag.go route.go retry.go errclass.go ryw.go health.go"
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
start=$(date +%s%N)
$GO test -count=1 -coverpkg=./plugin/,./internal/cluster/ -coverprofile="$profile" ./plugin/ ./internal/cluster/ >/dev/null
took=$(( ($(date +%s%N) - start) / 1000000 ))
# Profile lines: path/file.go:from,to statements count
awk -v core="$core" -v min="$CORE_MIN" -v took="$took" '
	BEGIN { n = split(core, f, " "); for (i = 1; i <= n; i++) want[f[i]] = 1 }
	NR > 1 {
		split($1, a, ":"); file = a[1]; sub(/.*\//, "", file)
		if (!(file in want)) next
		key = $1; stmts[key] = $2; if ($3 > 0) hit[key] = 1
	}
	END {
		for (k in stmts) { all += stmts[k]; if (k in hit) covered += stmts[k] }
		pct = 100 * covered / all
		printf "cover-core: go test ./plugin/ ./internal/cluster/ took %.1f s (with building); routing and health code %.1f%% covered (%d of %d statements; minimum %d%%)\n", took / 1000, pct, covered, all, min
		if (pct < min) exit 1
	}' "$profile"
