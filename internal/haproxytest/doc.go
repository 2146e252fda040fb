// Package haproxytest runs a throwaway HAProxy in front of a Patroni
// cluster for tests, configured as Patroni's documentation sets it up: one
// port for the leader (health check GET /primary on each Patroni's REST
// API), one for the replicas (GET /replica), TCP mode, and
// on-marked-down shutdown-sessions, so that connections to a server that
// fails its check are cut. Ports are free 127.0.0.1 ports from
// internal/pgcluster's allocator; HAProxy is started from pgcluster's
// Spawner so that it dies with the test process.
// It runs on Linux only.
package haproxytest
