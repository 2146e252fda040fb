#!/usr/bin/env bash
# `make test-versions`: the core suites on every supported PostgreSQL major
# version (VERSIONS, default "14 15 16 17 18"; "machine" is the machine's own
# server), each version's binaries from scripts/ensure-pg-version.sh. Prints
# a version x suite table of passed/run top-level tests and writes it to
# .tmp/test-versions.md; each run's output is in .tmp/test-versions/.
# Exits non-zero unless every test passed on every version.
#
# The tests are built once, without -race (make test runs them with -race on
# the default version): this run proves the behaviour on each server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

versions=${VERSIONS:-14 15 16 17 18}
go=${GO:-go}
out=.tmp/test-versions
table=.tmp/test-versions.md

# suite name and the top-level tests of ./tests it runs.
suites=(
	"modes|^(TestModesRouteToTheDocumentedNodes|TestConnHandleModeOverridesAndConnection|TestBatchAndTransactionalPoolsAreUsedOnlyOnThePrimary|TestBehaviourMatrix)$"
	"read-only|^(TestReadOnlyRefusesWritesBeforeSending|TestReadOnlyServerSessionsRefuseRawWrites|TestReadOnlyPrimaryForMaintenance|TestGormTransactionRefusedIsNoPrimary)$"
	"failover|^(TestReplicaCrashAndRestartFailsNoRead|TestPrimaryCrashWritesWaitForThePromotionAndNothingIsLost|TestSwitchoverNeverSurfaces25006|TestTransactionAfterUnnoticedSwitchover|TestNodesDownAtStartAllReplicasDownAndEverythingDown|TestReplicaDownAtStart|TestUnreachableHostWithAStandaloneReplicaHost|TestSplitBrainPicksTheNewestTimeline|TestPassiveSignalsWithoutHealthChecks|TestZombiePrimaryGetsNoWriteAfterThePromotion)$"
	"hang|^(TestHungReplicaFailsNoReadAndStallsNone|TestHungReplicaWithDefaultHealthSettings|TestPausedPrimaryEndsWritesInFlight|TestSyncStandbyStallEndsWritesAtTheirDeadline)$"
	"read-your-writes|^(TestLaggingReplicaLeavesRotationAndReadYourWrites|TestReadYourWrites.*|TestInstanceReadYourWritesSeesEveryWriteOfTheManager|TestReplicaOfTheOldTimelineServesNoReadYourWritesRead|TestRowAndRowsReadYourWritesAndPoolTimeout)$"
	"history checks|^(TestCheckHistory|TestCheckReads|TestSyncCrashHistory|TestCutRepliesHistory)$"
	"migrations|^(TestAutoMigrateWaitsForReplicas|TestMigrateRunsOnThePrimaryWhenHostIsAReplica|TestTenInstancesMigrateAtOnce)$"
)
# Other packages: name|package|tests.
packages=(
	"pgcluster|./internal/pgcluster|."
	"doctor|./cmd/unifieddb|^TestDoctor"
)

# TABLE_ONLY=1: only the table, from the logs of the last run.
table_only=${TABLE_ONLY:-}
if [ -z "$table_only" ]; then
	rm -rf "$out"
fi
mkdir -p "$out"
[ -n "$table_only" ] || echo "test-versions: building the tests"
if [ -z "$table_only" ]; then
	"$go" test -c -o "$out/tests.test" ./tests
	for p in "${packages[@]}"; do
		IFS='|' read -r name pkg _ <<<"$p"
		"$go" test -c -o "$out/$name.test" "$pkg"
	done
fi

union=
for s in "${suites[@]}"; do
	union="$union|${s#*|}"
done
union=${union#|}

# tests_of DIR REGEXP: the top-level tests of the package in DIR that REGEXP
# selects (read from the source: -test.list would start TestMain's cluster),
# leaving out files built only off Linux.
tests_of() {
	grep -L '^//go:build .*!linux' "$1"/*_test.go |
		xargs grep -hoE '^func Test[A-Za-z0-9_]+\(t \*testing\.T\)' |
		sed -E 's/^func (Test[A-Za-z0-9_]+).*/\1/' | grep -E -- "$2" | sort -u || true
}

# passed LOG NAMES...: how many of NAMES have a top-level PASS line in LOG.
passed() {
	local log=$1 n=0 t
	shift
	for t in "$@"; do
		if grep -qxE -- "--- PASS: $t \([0-9.]+s\)" "$log"; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

declare -A cell
declare -A secs
failed=0
for v in $versions; do
	if [ "$v" = machine ]; then
		unset UNIFIEDDB_PG_BINDIR
		scripts/ensure-postgres.sh
		bindir=$(dirname "$(readlink -f "$(command -v postgres || ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -1)")")
	else
		export UNIFIEDDB_PG_BINDIR
		UNIFIEDDB_PG_BINDIR=$(scripts/ensure-pg-version.sh "$v")
		bindir=$UNIFIEDDB_PG_BINDIR
	fi
	start=$SECONDS
	echo "test-versions: PostgreSQL $v ($bindir)"
	log=$out/$v-tests.log
	if [ -z "$table_only" ]; then
		(cd tests && "../$out/tests.test" -test.run "$union" -test.count=1 -test.v -test.timeout 30m) >"$log" 2>&1 || true
	fi
	for s in "${suites[@]}"; do
		name=${s%%|*}
		mapfile -t tests < <(tests_of tests "${s#*|}")
		p=$(passed "$log" "${tests[@]}")
		cell[$v,$name]="$p/${#tests[@]}"
		[ "$p" -eq "${#tests[@]}" ] || failed=1
		echo "  $name: $p/${#tests[@]}"
	done
	for pk in "${packages[@]}"; do
		IFS='|' read -r name pkg run <<<"$pk"
		log=$out/$v-$name.log
		if [ -z "$table_only" ]; then
			(cd "$pkg" && "$repo/$out/$name.test" -test.run "$run" -test.count=1 -test.v -test.timeout 10m) >"$log" 2>&1 || true
		fi
		mapfile -t tests < <(tests_of "$pkg" "$run")
		p=$(passed "$log" "${tests[@]}")
		cell[$v,$name]="$p/${#tests[@]}"
		[ "$p" -eq "${#tests[@]}" ] || failed=1
		echo "  $name: $p/${#tests[@]}"
	done
	if [ -z "$table_only" ]; then
		echo $((SECONDS - start)) >"$out/$v.secs"
	fi
	secs[$v]=$(cat "$out/$v.secs" 2>/dev/null || echo 0)
	server=$("$bindir/postgres" --version 2>/dev/null | awk '{print $NF}')
	cell[$v,server]=${server:-?}
done

{
	echo "| suite (top-level tests passed/run) |$(for v in $versions; do printf ' %s |' "$v"; done)"
	echo "|---|$(for _ in $versions; do printf -- '---|'; done)"
	echo "| server |$(for v in $versions; do printf ' %s |' "${cell[$v,server]}"; done)"
	for s in "${suites[@]}" "${packages[@]}"; do
		name=${s%%|*}
		echo "| $name |$(for v in $versions; do printf ' %s |' "${cell[$v,$name]}"; done)"
	done
	echo "| minutes |$(for v in $versions; do printf ' %s |' "$(awk -v s="${secs[$v]}" 'BEGIN{printf "%.1f", s/60}')"; done)"
} >"$table"
echo
cat "$table"
echo "test-versions: table in $table, logs in $out/"
exit "$failed"
