// Package tests holds the integration, failover and chaos tests. They run
// against a throwaway local PostgreSQL cluster (internal/pgcluster) started
// by TestMain: a primary and two streaming replicas on 127.0.0.1.
package tests

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// shared is the cluster of the tests that leave it as they found it. Tests
// that kill, pause or promote nodes start their own.
var shared *pgcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.DefaultOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: starting the local cluster:", err)
		return 1
	}
	shared = c
	defer c.Close()
	return m.Run()
}
