package tests

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// Close cancels the probes in flight; a cancelled probe is not a node going
// down: no "node down" line (nor hook) at Close. Before, closing while a
// probe waited on a frozen replica logged it down, as the demo showed.
func TestCloseLogsNoNodeDown(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	cfg := testenv.Config(c)
	haConfig(&cfg)
	cfg.ConnectionTimeout = 10 * time.Second // the probe of the frozen node waits
	var log syncBuffer
	var m *datalayer.Manager
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
		return err
	}))
	require.NoError(t, stmt(t, ctx, "a read", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Exec("SELECT 1").Error
	}))
	r := c.Node("replica1")
	require.NoError(t, r.Pause())
	t.Cleanup(func() { r.Resume() })
	time.Sleep(time.Second) // a scheduled probe is waiting on the frozen node
	before := len(log.String())
	require.NoError(t, stmt(t, ctx, "Close", func(context.Context) error { return m.Close() }))
	after := log.String()[before:]
	assert.False(t, strings.Contains(after, "node down"), "Close logged a node down:\n%s", after)
}
