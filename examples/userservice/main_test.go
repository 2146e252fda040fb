package main

import (
	"os"
	"testing"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/pgtest"
)

// cluster is the package's local PostgreSQL: a primary and two replicas.
// Every commit waits until both replicas have applied it, so that a GET (a
// replica read) right after a POST sees the new user.
var cluster *pgcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m, "userservice", pgcluster.DefaultOptions(), pgtest.SyncApply, &cluster))
}
