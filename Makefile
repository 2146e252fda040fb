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

.PHONY: help test demo bench ensure-postgres fmt-check vet generate

help:
	@echo "make demo   start a local primary + 2 replicas and show the Manager routing by mode"
	@echo "make test   gofmt check, go vet, every test with -race (starts local PostgreSQL clusters)"
	@echo "make bench  point-select overhead of the Manager against plain GORM"

ensure-postgres:
	@scripts/ensure-postgres.sh

fmt-check:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w on them):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

test: ensure-postgres fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...

demo: ensure-postgres
	$(GO) run ./cmd/unifieddb demo

# The pairs run interleaved (BENCH_ROUNDS rounds of BENCH_TIME each); the
# table shows the medians.
bench: ensure-postgres
	$(GO) test -run '^$$' -bench '^BenchmarkPointSelect$$' -benchmem -benchtime $(BENCH_TIME) -count 1 -timeout 10m ./bench \
		-args -rounds=$(BENCH_ROUNDS) | tee /dev/stderr | $(GO) run ./bench/cmd/ratio

# Reserved for code generation (Wire); nothing to generate yet.
generate:
	@true
