package unifieddb_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// The package's one cluster, started by the first test that needs it (the
// Wire staleness check does not).
var (
	clusterOnce sync.Once
	cluster     *pgcluster.Cluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "unifieddb tests: stopping the cluster:", err)
		}
	}
	os.Exit(code)
}

func testCluster(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cluster, clusterErr = pgcluster.Start(ctx, pgcluster.DefaultOptions())
	})
	require.NoError(t, clusterErr, "starting the local cluster")
	return cluster
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
