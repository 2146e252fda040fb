# unifieddb: `make demo` runs the demo, `make test` runs every test, on a
# fresh Debian machine (as root, scripts/ensure-postgres.sh installs the
# PostgreSQL server package when its binaries are missing). Go modules come
# from the module proxy.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# `make bench BENCH_ROUNDS=10 BENCH_TIME=2s` for a longer run.
BENCH_ROUNDS ?= 15
BENCH_TIME ?= 500ms
# `make stress STRESS_COUNT=3` for a shorter run.
STRESS_COUNT ?= 10
# `PG_VERSION=17 make test` (any of 14 15 16 17 18) runs the servers of that
# major version, unpacked by scripts/ensure-pg-version.sh into PG_CACHE,
# instead of the machine's; internal/pgcluster reads UNIFIEDDB_PG_BINDIR.
# Empty: the machine's PostgreSQL (Debian's package).
PG_VERSION ?=
PG_CACHE ?= $(CURDIR)/.tmp/pg
ifneq ($(PG_VERSION),)
export UNIFIEDDB_PG_BINDIR := $(PG_CACHE)/$(PG_VERSION)/bin
endif

.PHONY: help soak test test-versions cover-core stress demo bench bench-select bench-concurrent bench-bulk bench-failover ensure-postgres fmt-check vet generate ensure-patroni test-patroni test-patroni-scenarios ensure-proxies

help:
	@echo "make demo   start a local primary + 2 replicas and show the Manager routing by mode"
	@echo "make test   gofmt check, go vet, every test with -race (starts local PostgreSQL clusters)"
	@echo "            PG_VERSION=14 make test: the same on PostgreSQL 14 (any of 14 15 16 17 18; default: the machine's)"
	@echo "make test-versions  the core suites on PostgreSQL 14, 15, 16, 17 and 18; a version x suite table in .tmp/test-versions.md"
	@echo "make cover-core  the failover core's fast tests (no server) and their coverage (>= 85%)"
	@echo "make stress the failover and hang tests STRESS_COUNT times (default 10) with every core kept busy"
	@echo "make bench  point select and Create against plain GORM, one goroutine and 8 at once (fails on a missed target), bulk load, and the failover comparison with GORM + dbresolver"
	@echo "make generate  regenerate wire_gen.go (make test fails when it is stale)"
	@echo "make gorm-suite GORM_SRC=/path/to/gorm  GORM's own tests: plain GORM vs the plugin (primary + replica, single node)"
	@echo "make test-patroni  the Patroni tests: a 3-node Patroni cluster on Raft (installs patroni as root)"
	@echo "make test-patroni-scenarios  only the six Patroni failover scenarios (what CI runs)"
	@echo "make soak   SOAK_INSTANCES Managers (default 20), each in its own process, through a fault every ~SOAK_FAULT_EVERY for SOAK_DURATION (30m); table in .tmp/soak/"

ensure-postgres:
ifeq ($(PG_VERSION),)
	@scripts/ensure-postgres.sh
else
	@PG_CACHE=$(PG_CACHE) scripts/ensure-pg-version.sh $(PG_VERSION) >/dev/null
endif

# PgBouncer and HAProxy for the tests that put them in front of a cluster.
# Not fatal: without root and without them, those tests skip and say why.
ensure-proxies:
	-@scripts/ensure-proxies.sh

fmt-check:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w on them):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

# go test -race of every package, ./tests split into TEST_SHARDS processes
# (default 2) side by side (scripts/test.sh); internal/testprogress prints
# each top-level test as it ends, and the full output of what failed.
TEST_SHARDS ?= 2
test: ensure-postgres ensure-proxies fmt-check vet cover-core
	TEST_SHARDS=$(TEST_SHARDS) GO=$(GO) scripts/test.sh

# The fast core tests without a server, failing when their coverage of the
# routing and health code drops under 85% (scripts/cover-core.sh).
cover-core:
	@GO=$(GO) scripts/cover-core.sh

# The failover and hang tests STRESS_COUNT times under a CPU burner, each
# operation under the watchdog; prints "stress: P/N runs passed".
# STRESS_VERSIONS="14 18": the runs on each of those versions in turn.
STRESS_VERSIONS ?=
stress: ensure-postgres
	STRESS_COUNT=$(STRESS_COUNT) STRESS_VERSIONS="$(STRESS_VERSIONS)" GO=$(GO) scripts/stress.sh

# The core suites (modes, read-only, failover, hang, read-your-writes,
# history checks, migrations, pgcluster, doctor) on PostgreSQL 14, 15, 16,
# 17 and 18 (VERSIONS="14 18" for fewer); prints a version x suite table of
# passed/run tests and writes it to .tmp/test-versions.md (about 25 minutes
# on 2 cores).
VERSIONS ?= 14 15 16 17 18
test-versions:
	VERSIONS="$(VERSIONS)" GO=$(GO) scripts/test-versions.sh

demo: ensure-postgres
	$(GO) run ./cmd/unifieddb demo

bench: bench-select bench-concurrent bench-bulk bench-failover

# Point select and single-row Create against plain GORM on the same node and
# pool settings. The pairs run interleaved (BENCH_ROUNDS rounds of BENCH_TIME
# each); the table shows the medians and fails the target when one is missed
# (bench/cmd/ratio). The raw go test output is kept in BENCH_OUT.
BENCH_OUT ?= .tmp/bench-select.txt
bench-select: ensure-postgres
	@mkdir -p $(dir $(BENCH_OUT))
	@echo "bench-select: $(BENCH_ROUNDS) rounds of $(BENCH_TIME) per pair; raw output in $(BENCH_OUT)"
	@$(GO) test -run '^$$' -bench '^(BenchmarkPointSelect|BenchmarkCreate)$$' -benchmem -benchtime $(BENCH_TIME) -count 1 -timeout 20m ./bench \
		-args -rounds=$(BENCH_ROUNDS) > $(BENCH_OUT) 2>&1 || { cat $(BENCH_OUT); exit 1; }
	@$(GO) run ./bench/cmd/ratio -check < $(BENCH_OUT)

# The same pairs, plus a small transaction, with 8 goroutines at once
# (GOMAXPROCS: the machine's cores): the client's CPU per statement decides
# the throughput. BENCH_CONC_ROUNDS interleaved rounds of BENCH_CONC_TIME
# (about 90 s); fails when a point select's ratio is under 1.00 less half
# the per-round IQR. Raw output in BENCH_CONC_OUT.
BENCH_CONC_ROUNDS ?= 5
BENCH_CONC_TIME ?= 1s
BENCH_CONC_OUT ?= .tmp/bench-concurrent.txt
bench-concurrent: ensure-postgres
	@mkdir -p $(dir $(BENCH_CONC_OUT))
	@echo "bench-concurrent: $(BENCH_CONC_ROUNDS) rounds of $(BENCH_CONC_TIME) per pair, 8 workers; raw output in $(BENCH_CONC_OUT)"
	@$(GO) test -run '^$$' -bench '^BenchmarkConcurrent$$' -benchmem -benchtime $(BENCH_CONC_TIME) -count 1 -timeout 10m ./bench \
		-args -rounds=$(BENCH_CONC_ROUNDS) > $(BENCH_CONC_OUT) 2>&1 || { cat $(BENCH_CONC_OUT); exit 1; }
	@$(GO) run ./bench/cmd/ratio -check < $(BENCH_CONC_OUT)

# 100,000 rows three ways in the same run: GORM CreateInBatches(1000),
# repos CreateMany, raw pgx CopyFrom.
bench-bulk: ensure-postgres
	$(GO) test -run '^$$' -bench '^BenchmarkBulkLoad$$' -benchtime 3x -timeout 10m ./repos

# The HA faults for this manager and GORM + dbresolver under the same load at
# the same time (about 70 s).
bench-failover: ensure-postgres
	UNIFIEDDB_FAILBENCH=1 $(GO) test -run '^TestRun$$' -count 1 -v -timeout 10m ./internal/failbench

# Wire: wire_gen.go is generated and committed; TestWireGenIsCurrent fails
# `make test` when it is stale.
generate:
	$(GO) run github.com/google/wire/cmd/wire@v0.7.0 gen .

# GORM's own test suite (tests/ of a GORM clone in GORM_SRC, never copied
# here) three ways: plain GORM, through the plugin on a primary + synchronous
# replica, and on a single node; writes .tmp/gorm-suite/summary.md. A
# developer tool: it needs GORM_SRC and the module proxy, so it is not part of
# make test.
.PHONY: gorm-suite
gorm-suite: ensure-postgres
	scripts/gorm-suite.sh
ensure-patroni:
	@scripts/ensure-patroni.sh

# The Patroni tests (internal/patronitest): three PostgreSQL nodes, each run
# by its own Patroni, on Patroni's built-in Raft. Without root and without
# Patroni, `make test` skips them; this target installs it first.
test-patroni: ensure-postgres ensure-patroni ensure-proxies
	UNIFIEDDB_PATRONI=1 $(GO) test -race -count=1 -timeout 30m -json -run Patroni ./internal/patronitest ./tests/ | $(GO) run ./internal/testprogress

# The six Patroni scenarios of TestPatroniScenarios only (one cluster, about
# 2.5 minutes): what .ci/run runs beside the stress run.
test-patroni-scenarios: ensure-postgres ensure-patroni
	UNIFIEDDB_PATRONI=1 $(GO) test -race -count=1 -timeout 15m -json -run '^TestPatroniScenarios$$' ./tests/ | $(GO) run ./internal/testprogress

# The fleet soak (issue 20, internal/soak): SOAK_INSTANCES Manager
# processes under a light load against one Patroni cluster, a fault every
# ~SOAK_FAULT_EVERY (jittered) for SOAK_DURATION, SOAK_WRITERS writers each; the history check over
# the whole run, the servers' connections and probes, each instance's
# resources. Prints the table and writes it to .tmp/soak/$(SOAK_LABEL).md.
# SOAK_WORKER_BIN: a worker built elsewhere (another commit) to compare.
SOAK_INSTANCES ?= 20
SOAK_DURATION ?= 30m
SOAK_FAULT_EVERY ?= 90s
SOAK_WRITERS ?= 2
SOAK_LABEL ?= soak
SOAK_WORKER_BIN ?=
soak: ensure-postgres ensure-patroni
	@mkdir -p $(CURDIR)/.tmp/soak
	UNIFIEDDB_PATRONI=1 UNIFIEDDB_SOAK=1 SOAK_INSTANCES=$(SOAK_INSTANCES) SOAK_WRITERS=$(SOAK_WRITERS) SOAK_DURATION=$(SOAK_DURATION) \
		SOAK_FAULT_EVERY=$(SOAK_FAULT_EVERY) SOAK_LABEL=$(SOAK_LABEL) SOAK_WORKER_BIN=$(SOAK_WORKER_BIN) SOAK_OUT=$(CURDIR)/.tmp/soak \
		$(GO) test -count=1 -timeout 0 -v -run '^TestSoak$$' ./internal/soak/ 2>&1 | tee $(CURDIR)/.tmp/soak-$(SOAK_LABEL).log | grep -v '^=== RUN'
