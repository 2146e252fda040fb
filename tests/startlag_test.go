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

// A Manager started while a replica is far behind never reads from it
// until its lag is known to be within max_replication_lag: the replica's
// lag is not measured from the new Manager's first WAL sample (which would
// take a replica minutes behind for one 0 s behind).
func TestNewManagerKeepsAFarBehindReplicaOutOfRotation(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	primary, lagging, fine := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	first := newManager(t, c, haConfig)
	seedItems(t, c, first, 5)
	require.NoError(t, first.Close())

	require.NoError(t, nodeOp(t, ctx, "pause replay on replica1", lagging.PauseReplay))
	var marker int64
	require.NoError(t, stmt(t, ctx, "insert the marker on the primary", func(ctx context.Context) (err error) {
		marker, err = primary.QueryInt(ctx, "INSERT INTO ha_items (name) VALUES ('marker') RETURNING id")
		return err
	}))
	// replica1 is now 3 s behind, more than max_replication_lag.
	time.Sleep(3 * time.Second)

	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.MaxReplicationLag = 2 * time.Second
	})
	stale, byFine := 0, 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		var port int
		require.NoError(t, stmt(t, ctx, "Auto read of the marker", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Model(&haItem{}).Where("id = ?", marker).
				Select("inet_server_port()").Scan(&port).Error
		}))
		switch port {
		case 0:
			stale++ // served by a replica without the marker
		case fine.Port():
			byFine++
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.Zero(t, stale, "Auto reads that missed the marker (replica1 paused 3 s behind)")
	assert.Positive(t, byFine, "reads still go to the replica that is fresh")
	for _, n := range m.Plugin().Status().Nodes {
		if n.Port == lagging.Port() {
			assert.False(t, n.InRotation, "the far-behind replica is out of rotation")
			assert.GreaterOrEqual(t, n.Lag, 2*time.Second, "its lag shown is at least the time since the Manager started")
		}
	}

	require.NoError(t, nodeOp(t, ctx, "resume replay on replica1", lagging.ResumeReplay))
	servesReads(t, m, lagging, 10*time.Second)
}
