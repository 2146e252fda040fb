package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// A write that had to wait for a primary (none was known when it began) is
// a write of its read-your-writes context like any other: the next read
// sees it. Found by TestSyncCrashHistory: such writes were not counted, and
// the read after one went to a replica that did not have it.
func TestReadYourWritesSeesAWriteThatWaitedForAPrimary(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	primary := c.Node("primary")
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.MaxReplicationLag = 0 // the paused replicas stay in rotation
	})
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	rctx := datalayer.WithReadYourWrites(ctx)
	count := func(seq int) (n int64) {
		require.NoError(t, stmt(t, rctx, "read-your-writes read", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Model(&haWrite{}).Where("worker = ? AND seq = ?", -4, seq).Count(&n).Error
		}))
		return n
	}
	require.NoError(t, stmt(t, rctx, "first write", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&haWrite{Worker: -4, Seq: 0}).Error
	}))
	require.EqualValues(t, 1, count(0))
	waitReplicated(t, c, primary)
	for _, r := range []*pgcluster.Node{c.Node("replica1"), c.Node("replica2")} {
		require.NoError(t, nodeOp(t, ctx, "pause replay on "+r.Name(), r.PauseReplay))
	}

	require.NoError(t, nodeOp(t, ctx, "stop the primary", primary.Stop))
	require.Eventually(t, func() bool { return m.Plugin().Status().Primary == "" },
		10*time.Second, 20*time.Millisecond, "the Manager still has a primary")
	// Both ways a write reaches a server: Create (a query, RETURNING id)
	// and a raw INSERT (an exec). Each waits for the primary to come back.
	writes := make(chan error, 2)
	go func() {
		writes <- stmt(t, rctx, "create that waits", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Create(&haWrite{Worker: -4, Seq: 1}).Error
		})
	}()
	go func() {
		writes <- stmt(t, rctx, "exec that waits", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Exec("INSERT INTO ha_writes (worker, seq) VALUES (-4, 2)").Error
		})
	}()
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, nodeOp(t, ctx, "start the primary", primary.Start))
	require.NoError(t, <-writes)
	require.NoError(t, <-writes)
	assert.EqualValues(t, 1, count(1), "read-your-writes read of a create that waited for a primary")
	assert.EqualValues(t, 1, count(2), "read-your-writes read of an exec that waited for a primary")
}
