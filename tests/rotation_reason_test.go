package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// After a failover, a replica that still follows the old primary is out of
// rotation, and the health report says why: it is on the old timeline and
// streams from nothing. It used to say "replication lag 0s", which sent
// people looking at lag.
func TestHealthReportSaysWhyAReplicaOfTheOldPrimaryIsOut(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	old, stale, next := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	m := newManager(t, c, haConfig)
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	waitReplicated(t, c, old)

	require.NoError(t, nodeOp(t, ctx, "stop the primary", old.Stop))
	require.NoError(t, nodeOp(t, ctx, "promote replica2", next.Promote))
	require.Eventually(t, func() bool { return m.Plugin().Status().Primary == next.Addr() },
		10*time.Second, 20*time.Millisecond, "the Manager does not take the promoted replica for the primary")

	var rep datalayer.HealthReport
	var staleNode datalayer.NodeHealth
	want := "replica " + stale.Addr() + " is out of rotation: on timeline 1, but the primary " + next.Addr() + " is on timeline 2; no WAL receiver"
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		require.NoError(ct, stmt(t, ctx, "HealthCheck", func(ctx context.Context) (err error) {
			rep, err = m.HealthCheck(ctx, datalayer.Fresh())
			return err
		}))
		for _, n := range rep.Nodes {
			if n.Name == stale.Addr() {
				staleNode = n
			}
		}
		assert.Contains(ct, strings.Join(rep.Problems, "\n"), want)
	}, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, datalayer.StatusDegraded, rep.Status)
	assert.NotContains(t, strings.Join(rep.Problems, "\n"), "replication lag 0s")
	assert.False(t, staleNode.InRotation)
	assert.Equal(t, 1, staleNode.Timeline)
	assert.Empty(t, staleNode.Upstream)
	assert.Contains(t, staleNode.OutOfRotation, "no WAL receiver")
	for _, n := range rep.Nodes {
		if n.Name == next.Addr() {
			assert.Equal(t, 2, n.Timeline)
			assert.Empty(t, n.OutOfRotation)
		}
	}

	// Repointed at the new primary, it is back, and the report names the
	// server its WAL receiver streams from.
	require.NoError(t, nodeOp(t, ctx, "repoint replica1", func(ctx context.Context) error { return stale.Repoint(ctx, next) }))
	require.Eventually(t, func() bool {
		err := stmt(t, ctx, "HealthCheck", func(ctx context.Context) (err error) {
			rep, err = m.HealthCheck(ctx, datalayer.Fresh())
			return err
		})
		for _, n := range rep.Nodes {
			if n.Name == stale.Addr() {
				staleNode = n
			}
		}
		return err == nil && staleNode.InRotation
	}, 30*time.Second, 50*time.Millisecond, "problems: %q", rep.Problems)
	assert.Empty(t, staleNode.OutOfRotation)
	assert.Equal(t, next.Addr(), staleNode.Upstream)
	assert.Equal(t, 2, staleNode.Timeline)
}
