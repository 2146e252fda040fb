package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/registry"
)

type fenceThing struct {
	ID   int64
	Name string
}

// A replica that was out of rotation (down) during AutoMigrate does not
// come back before it replayed the migration: Auto reads right after it
// restarts never meet a replica without the new table (42P01).
func TestAutoMigrateFencesAReplicaThatWasDown(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	down := c.Node("replica2")
	// Once back, it applies each commit 8 s after the primary made it: the
	// window in which it streams, answers probes and lacks the table.
	require.NoError(t, nodeOp(t, ctx, "delay replica2's replay", func(ctx context.Context) error {
		if err := down.Exec(ctx, "ALTER SYSTEM SET recovery_min_apply_delay = '8s'"); err != nil {
			return err
		}
		return down.Exec(ctx, "SELECT pg_reload_conf()")
	}))
	reg := registry.New()
	require.NoError(t, reg.Register(&fenceThing{}))
	m, err := datalayer.New(ctx, func() datalayer.Config {
		cfg := testenv.Config(c)
		haConfig(&cfg)
		return cfg // max_replication_lag 10 s: an 8 s delay is within it
	}(), datalayer.WithRegistry(reg))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })

	inRotation := func() bool {
		for _, n := range m.Plugin().Status().Nodes {
			if n.Port == down.Port() {
				return n.InRotation
			}
		}
		return false
	}
	require.NoError(t, down.Kill())
	require.Eventually(t, func() bool { return !inRotation() }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, m.AutoMigrate(ctx))
	require.NoError(t, nodeOp(t, ctx, "restart replica2", down.Start))

	failed, reads := 0, 0
	for end := time.Now().Add(12 * time.Second); time.Now().Before(end) && !inRotation(); {
		var things []fenceThing
		if err := stmt(t, ctx, "Auto read of the new table", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Find(&things).Error
		}); err != nil {
			failed++
			t.Log(err)
		}
		reads++
		time.Sleep(20 * time.Millisecond)
	}
	assert.Zero(t, failed, "of %d Auto reads while replica2 lacked the table", reads)
	require.Eventually(t, inRotation, 20*time.Second, 50*time.Millisecond, "back once it replayed the migration")
	for range 20 {
		var things []fenceThing
		require.NoError(t, m.DB().WithContext(ctx).Find(&things).Error)
	}
}
