// Package patronitest runs a throwaway three-node Patroni cluster for tests:
// each PostgreSQL is run by its own Patroni process, and the Patronis keep
// their state in Patroni's built-in Raft (python3-pysyncobj), so no etcd.
//
// Every port (PostgreSQL, REST API, Raft) is a free 127.0.0.1 port below the
// ephemeral range, taken from internal/pgcluster's allocator; the data is in
// a temporary directory. As root, Patroni and PostgreSQL run as the postgres
// OS user. Patroni starts each postmaster detached from itself (it survives
// a Patroni restart, by design), so Pdeathsig alone cannot reach it: Close
// kills every process whose command line names the cluster directory, and
// Start removes what a killed test process left behind.
//
// Linux only, like internal/pgcluster (process groups, /proc): on other
// systems the package is empty.
package patronitest
