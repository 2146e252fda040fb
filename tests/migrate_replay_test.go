package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/registry"
)

type replayThing struct {
	ID   int64
	Name string
}

// AutoMigrate returns once the replicas in rotation replayed the DDL: an
// Auto read right after it never meets a replica without the table. A
// replica that cannot catch up in time leaves rotation until it does.
func TestAutoMigrateWaitsForReplicas(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	stuck := c.Node("replica2")
	reg := registry.New()
	require.NoError(t, reg.Register(&replayThing{}))
	m, err := datalayer.New(ctx, func() datalayer.Config {
		cfg := testenv.Config(c)
		haConfig(&cfg)
		cfg.MaxReplicationLag = 2 * time.Second // also the longest wait for replay
		return cfg
	}(), datalayer.WithRegistry(reg))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })

	require.NoError(t, stuck.PauseReplay(ctx))
	start := time.Now()
	require.NoError(t, m.AutoMigrate(ctx))
	assert.Less(t, time.Since(start), 10*time.Second, "the wait is bounded")
	for i := range 30 {
		var things []replayThing
		require.NoError(t, m.DB().WithContext(ctx).Find(&things).Error, "read %d right after AutoMigrate", i)
	}
	inRotation := func() bool {
		for _, n := range m.Plugin().Status().Nodes {
			if n.Port == stuck.Port() {
				return n.InRotation
			}
		}
		return false
	}
	assert.False(t, inRotation(), "the replica that did not replay left rotation")

	require.NoError(t, stuck.ResumeReplay(ctx))
	require.Eventually(t, inRotation, 20*time.Second, 50*time.Millisecond, "back once it caught up")
	var things []replayThing
	require.NoError(t, m.DB().WithContext(ctx).Find(&things).Error)
}
