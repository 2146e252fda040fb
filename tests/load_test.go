package tests

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

func failures(rs []loadgen.Result) []loadgen.Result { return loadgen.Failures(rs) }

// startCluster starts a cluster of the test's own, closed at cleanup.
func startCluster(t *testing.T, opts pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	var c *pgcluster.Cluster
	require.NoError(t, nodeOp(t, testCtx(t), "start a cluster", func(ctx context.Context) (err error) {
		c, err = pgcluster.Start(ctx, opts)
		return err
	}))
	t.Cleanup(func() { c.Close() })
	return c
}
