// Package pgbouncertest runs a throwaway PgBouncer in transaction pooling
// mode in front of one PostgreSQL server, for tests: a generated ini file,
// a free 127.0.0.1 port from internal/pgcluster's allocator, a temporary
// directory. As root it runs as the postgres OS user (PgBouncer refuses to
// run as root), started from pgcluster's Spawner so that it dies with the
// test process.
// It runs on Linux only.
package pgbouncertest
