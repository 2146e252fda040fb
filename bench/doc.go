// Package bench holds the benchmarks of unifieddb against plain GORM, run by
// `make bench`. The benchmarks are in bench_test.go; they start one local
// PostgreSQL cluster for the package, and only when a benchmark is asked
// for, so `go test ./...` stays fast. bench/cmd/ratio turns their output
// into the Manager/GORM table of the README.
package bench
