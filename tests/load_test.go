package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

func startLoad(ctx context.Context, workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *loadgen.Run {
	return loadgen.Start(ctx, workers, interval, op)
}

func failures(rs []loadgen.Result) []loadgen.Result { return loadgen.Failures(rs) }

// startCluster starts a cluster of the test's own, closed at cleanup.
func startCluster(t *testing.T, opts pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	c, err := pgcluster.Start(testCtx(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}
