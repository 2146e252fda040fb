#!/usr/bin/env bash
# Runs GORM's own test suite (tests/ of github.com/go-gorm/gorm, its own Go
# module) three ways and compares them:
#
#   plain   plain GORM on the primary of a primary + synchronous replica
#           (synchronous_commit = remote_apply), as GORM's CI runs it
#   plugin  the same suite through a Manager's m.DB() on that cluster
#   single  the same suite through a Manager's m.DB() on a single node
#   clusters  as plugin, with a second cluster configured beside it (no table
#           placed there): every transaction begins lazily, on its first
#           statement's cluster (plugin/lazytx.go)
#
# GORM's code is never copied into this repository: the tests are taken at
# run time from GORM_SRC, a git clone of GORM (the tag GORM_VERSION is
# extracted, whatever is checked out) or a directory holding GORM's source at
# that version. One file of ours, scripts/gormsuite/zz_unifieddb_test.go.txt,
# is added to a temporary copy; its init swaps GORM's DB for m.DB(), and its
# OpenTestConnection (GORM's is renamed in the copy) opens m.DB() of a new
# Manager for the tests that open their own connection.
#
# It needs the Go module proxy (or a warm module cache) for the modules of
# GORM's tests, and PostgreSQL server binaries. It never uses port 5432: the
# clusters are throwaway ones on free loopback ports.
#
# Environment:
#   GORM_SRC              required: GORM's git clone or source directory
#   GORM_VERSION          the tag to test (default v1.31.2)
#   GORM_SUITE_OUT        where the events and summary.md go (default .tmp/gorm-suite)
#   GORM_SUITE_RUN        only the top-level tests matching this regexp
#   GORM_SUITE_WAYS       which ways to run (default "plain plugin single"; also "clusters"); the
#                         summary compares those whose events are in GORM_SUITE_OUT
#   GORM_SUITE_TEST_TIMEOUT  a top-level test running longer is taken as hung: its
#                         goroutine stacks are recorded and the suite goes on (default 60s)
#   GORM_SUITE_TIMEOUT    -test.timeout of one run of the test binary (default 30m)
#   GORM_SUITE_KEEP=1     keep the temporary directory (the GORM copy and the clusters' logs)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GORM_VERSION="${GORM_VERSION:-v1.31.2}"
GORM_SRC="${GORM_SRC:-}"
out="${GORM_SUITE_OUT:-$repo/.tmp/gorm-suite}"
timeout="${GORM_SUITE_TIMEOUT:-30m}"
test_timeout="${GORM_SUITE_TEST_TIMEOUT:-60s}"
run_filter="${GORM_SUITE_RUN:-}"
ways="${GORM_SUITE_WAYS:-plain plugin single}"

die() {
	echo "gorm-suite: $*" >&2
	exit 1
}

if [ -z "$GORM_SRC" ]; then
	die "GORM's source is needed and GORM_SRC is not set.
Point GORM_SRC at a git clone of GORM (it must have the tag $GORM_VERSION; the
checked-out commit does not matter) or at a directory with GORM $GORM_VERSION's
source including tests/, for example:
  git clone https://github.com/go-gorm/gorm /tmp/gorm
  GORM_SRC=/tmp/gorm make gorm-suite
(The module cache copy of gorm.io/gorm has no tests/: it is a module of its own.)"
fi
[ -d "$GORM_SRC" ] || die "GORM_SRC=$GORM_SRC is not a directory"

work="$(mktemp -d "${TMPDIR:-/tmp}/gorm-suite.XXXXXX")"
chmod 755 "$work"
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${GORM_SUITE_KEEP:-}" = 1 ]; then
		echo "gorm-suite: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. GORM's source at GORM_VERSION, in $work/gorm.
mkdir -p "$work/gorm"
if git -C "$GORM_SRC" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$GORM_SRC" rev-parse -q --verify "$GORM_VERSION^{commit}" >/dev/null ||
		die "GORM_SRC=$GORM_SRC has no $GORM_VERSION (git -C $GORM_SRC fetch --tags)"
	git -C "$GORM_SRC" archive --format=tar "$GORM_VERSION" | tar -x -C "$work/gorm"
	echo "gorm-suite: GORM $GORM_VERSION ($(git -C "$GORM_SRC" rev-parse --short "$GORM_VERSION^{commit}")) from $GORM_SRC" >&2
else
	grep -q '^module gorm.io/gorm$' "$GORM_SRC/go.mod" 2>/dev/null ||
		die "GORM_SRC=$GORM_SRC is neither a git clone of GORM nor GORM's source (no go.mod of gorm.io/gorm)"
	cp -a "$GORM_SRC/." "$work/gorm/"
	echo "gorm-suite: GORM from $GORM_SRC (not a git clone: its version is taken to be $GORM_VERSION)" >&2
fi
tests="$work/gorm/tests"
[ -f "$tests/go.mod" ] && [ -f "$tests/tests_test.go" ] ||
	die "GORM's source in GORM_SRC=$GORM_SRC has no tests/ module"

# 2. The tests module, through our plugin: one overlay file and two replaces.
cp "$repo/scripts/gormsuite/zz_unifieddb_test.go.txt" "$tests/zz_unifieddb_test.go"
# The overlay's OpenTestConnection takes the place of GORM's, which stays as
# openTestConnectionPlain: the tests that open their own connection run
# through the plugin too.
grep -q '^func OpenTestConnection(' "$tests/tests_test.go" ||
	die "GORM's tests_test.go has no OpenTestConnection to take over"
sed -i 's/^func OpenTestConnection(/func openTestConnectionPlain(/' "$tests/tests_test.go"
(
	cd "$tests"
	go mod edit \
		-replace "gorm.io/gorm=$work/gorm" \
		-replace "github.com/prompt-improver/unifieddb=$repo" \
		-require "github.com/prompt-improver/unifieddb@v0.0.0-00010101000000-000000000000"
	echo "gorm-suite: resolving the modules of GORM's tests (needs the module proxy or a warm cache)" >&2
	go mod tidy >&2 || die "go mod tidy failed in the copy of GORM's tests (no module proxy?)"
	echo "gorm-suite: compiling GORM's tests" >&2
	# No cgo: only the sqlite driver wants it, and only the postgres dialect runs.
	CGO_ENABLED=0 go test -c -p 1 -o "$work/gorm-suite.test" . >&2
)
(cd "$repo" && go build -o "$work/gormsuite" ./scripts/gormsuite)

# 3. Two throwaway clusters: primary + synchronous replica, and a single node.
start_cluster() { # name replicas db...
	local name="$1" replicas="$2"
	shift 2
	local dir="$work/$name" args=()
	mkdir -p "$dir"
	while [ $# -gt 0 ]; do
		case "$1" in
		-clusters-db) args+=(-clusters-db "$2"); shift 2 ;;
		*) args+=(-db "$1"); shift ;;
		esac
	done
	"$work/gormsuite" cluster -replicas "$replicas" -out "$dir" "${args[@]}" 2>"$dir/cluster.log" &
	pids+=("$!")
}
wait_cluster() { # name pid
	local dir="$work/$1" pid="$2" i
	for i in $(seq 1 1800); do
		[ -f "$dir/ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$dir/cluster.log" >&2; die "the $1 cluster did not start"; }
		sleep 0.1
	done
	die "the $1 cluster did not start within 3 minutes"
}
echo "gorm-suite: starting the clusters" >&2
start_cluster replicated 1 gorm_plain gorm_plugin -clusters-db gorm_clusters
start_cluster single 0 gorm_single
wait_cluster replicated "${pids[0]}"
wait_cluster single "${pids[1]}"

# 4. The three ways, one after the other (the machine may be shared).
mkdir -p "$out"
status=0
run_way() { # way dsn-file [config]
	local way="$1" dsn_file="$2" config="${3:-}" args=()
	[ -n "$run_filter" ] && args+=(-run "$run_filter")
	echo "gorm-suite: running GORM's tests: $way" >&2
	GORM_DIALECT=postgres GORM_DSN="$(cat "$dsn_file")" UNIFIEDDB_GORMSUITE_CONFIG="$config" \
		"$work/gormsuite" run -bin "$work/gorm-suite.test" -dir "$tests" \
		-timeout "$timeout" -test-timeout "$test_timeout" -out "$out/$way.json" "${args[@]}" 2>"$out/$way.log" ||
		{ status=1; echo "gorm-suite: $way did not complete; see $out/$way.log" >&2; tail -n 20 "$out/$way.log" >&2; }
}
for way in $ways; do
	case "$way" in
	plain) run_way plain "$work/replicated/gorm_plain.dsn" ;;
	plugin) run_way plugin "$work/replicated/gorm_plugin.dsn" "$work/replicated/gorm_plugin.yaml" ;;
	single) run_way single "$work/single/gorm_single.dsn" "$work/single/gorm_single.yaml" ;;
	clusters) run_way clusters "$work/replicated/gorm_clusters.dsn" "$work/replicated/gorm_clusters.yaml" ;;
	*) die "unknown way $way in GORM_SUITE_WAYS (plain, plugin, single, clusters)" ;;
	esac
done

# 5. The comparison.
{
	echo "GORM $GORM_VERSION tests/, $(date -u +%Y-%m-%d), unifieddb $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
	summary_ways=()
	for way in plain plugin single clusters; do
		[ -f "$out/$way.json" ] && summary_ways+=(-way "$way=$out/$way.json")
	done
	"$work/gormsuite" summarize -repo "$repo" "${summary_ways[@]}"
} >"$out/summary.md" || status=1
cat "$out/summary.md"
echo "gorm-suite: events and logs in $out" >&2
exit "$status"
