package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// A read that the route gave up on (no node within failover_timeout) is not
// run again by the reset-mid-result re-run: its error wraps the connection
// error of its last attempt, but no row reached GORM. Before, the read was
// run up to three times, so "everything down" took 3 × failover_timeout.
func TestReadGivenUpIsNotRunAgain(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{})
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.EnableHealthChecks = false // the node stays "up" until a read fails on it
		cfg.FailoverTimeout = time.Second
	})
	seedItems(t, c, m, 1)
	require.NoError(t, nodeOp(t, ctx, "stop the only node", c.Node("primary").Stop))

	start := time.Now()
	err := stmt(t, ctx, "read", func(ctx context.Context) error {
		var it haItem
		return m.DB().WithContext(ctx).First(&it, 1).Error
	})
	took := time.Since(start)
	require.Error(t, err)
	assert.True(t, errors.Is(err, datalayer.ErrNoHealthyNode) || errors.Is(err, datalayer.ErrNoPrimary), "read: %v", err)
	// One failover_timeout (1 s) plus scheduling; a second run would be ≥ 2 s.
	assert.Less(t, took, 1900*time.Millisecond, "the read was run again after the route gave up")
}

// A write that was not sent (its node refused it) and whose context ends
// while it waits for a primary says both: ErrNoPrimary (nothing ran, the
// history check counts it as not sent) and the context's error. Before, it
// was only "context deadline exceeded; last error on ...".
func TestWriteWaitingForAPrimaryEndsWithItsContext(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{})
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.EnableHealthChecks = false
		cfg.FailoverTimeout = 30 * time.Second
	})
	seedItems(t, c, m, 1)
	require.NoError(t, nodeOp(t, ctx, "stop the only node", c.Node("primary").Stop))

	err := stmt(t, ctx, "write", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		return m.DB().WithContext(ctx).Create(&haItem{Name: "x"}).Error
	})
	assert.ErrorIs(t, err, datalayer.ErrNoPrimary)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, datalayer.ErrOutcomeUnknown)
}
