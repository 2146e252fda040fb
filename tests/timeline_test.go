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

// A replica still on the old timeline after a failover (it followed the
// old primary and was not repointed yet) may have replayed further, in WAL
// positions, than the new primary has written: the promoted standby was
// behind it. Positions of two timelines cannot be compared, so its replay
// position says nothing of the new primary's writes. Found by
// TestSyncCrashHistory: a read-your-writes read on such a replica missed
// the write its context had just made on the new primary.
func TestReplicaOfTheOldTimelineServesNoReadYourWritesRead(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	old, next, behind := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	m := newManager(t, c, haConfig)
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	waitReplicated(t, c, old)

	// replica1 misses the last WAL of the old primary, replica2 has it:
	// once replica1 is promoted, replica2 is ahead of it, on timeline 1.
	require.NoError(t, nodeOp(t, ctx, "stop replica1", next.Stop))
	require.NoError(t, stmt(t, ctx, "WAL replica1 misses", func(ctx context.Context) error {
		return old.Exec(ctx, "INSERT INTO ha_writes (worker, seq) SELECT -9, g FROM generate_series(1, 20000) g")
	}))
	waitReplicatedTo(t, behind, old)
	require.NoError(t, old.Kill())
	require.NoError(t, nodeOp(t, ctx, "start replica1", next.Start))
	require.NoError(t, nodeOp(t, ctx, "promote replica1", next.Promote))
	require.Eventually(t, func() bool { return m.Plugin().Status().Primary == next.Addr() },
		10*time.Second, 20*time.Millisecond, "the Manager does not take the promoted replica for the primary")
	var newLSN, behindLSN int64
	require.NoError(t, stmt(t, ctx, "WAL positions", func(ctx context.Context) (err error) {
		if newLSN, err = next.QueryInt(ctx, "SELECT (pg_current_wal_lsn() - '0/0')::bigint"); err != nil {
			return err
		}
		behindLSN, err = behind.QueryInt(ctx, "SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint")
		return err
	}))
	require.Greater(t, behindLSN, newLSN, "replica2 (timeline 1) is ahead of the new primary in WAL position")

	rctx := datalayer.WithReadYourWrites(ctx)
	var stale, onOld int
	for seq := range 20 {
		require.NoError(t, stmt(t, rctx, "read-your-writes write", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Create(&haWrite{Worker: -3, Seq: seq}).Error
		}))
		var got struct {
			N    int
			Port int
		}
		require.NoError(t, stmt(t, rctx, "read-your-writes read", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Model(&haWrite{}).Where("worker = ? AND seq = ?", -3, seq).
				Select("count(*) AS n, inet_server_port() AS port").Scan(&got).Error
		}))
		if got.N != 1 {
			stale++
		}
		if got.Port == behind.Port() {
			onOld++
		}
	}
	assert.Zero(t, stale, "read-your-writes reads that missed their write")
	assert.Zero(t, onOld, "reads served by the replica of the old timeline")
}
