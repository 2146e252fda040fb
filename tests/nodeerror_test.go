package tests

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/plugin"
)

// A write sent to a primary that has just stopped, with no replica to take
// over, fails with a *NodeError that names the primary: the caller reads the
// node with errors.As, and errors.Is still finds the sentinel.
func TestWriteOnAStoppedPrimaryNamesTheNode(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{})
	primary := c.Nodes()[0]
	m := newManager(t, c, func(cfg *datalayer.Config) {
		// No probe between the stop and the write: the write itself finds
		// the primary gone (a probe first would leave no node to name).
		cfg.HealthCheckInterval = time.Hour
		cfg.FailoverTimeout = time.Second
	})
	require.NoError(t, m.DB().WithContext(ctx).Exec("CREATE TABLE node_error_item (id int)").Error)

	require.NoError(t, nodeOp(t, ctx, "stop the primary", primary.Stop))
	err := stmt(t, ctx, "write on the stopped primary", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Exec("INSERT INTO node_error_item VALUES (1)").Error
	})
	require.Error(t, err)
	t.Log(err)
	var ne *datalayer.NodeError
	require.True(t, errors.As(err, &ne), "no NodeError in %v", err)
	assert.Equal(t, primary.Addr(), ne.Node)
	assert.Equal(t, datalayer.Auto, ne.Mode)
	assert.Equal(t, plugin.OpExec, ne.Op)
	// Sent before the server went away (ErrOutcomeUnknown) or refused
	// unsent and nothing took over (ErrNoPrimary): which one depends on
	// when the driver sees the closed socket.
	assert.True(t, errors.Is(err, datalayer.ErrNoPrimary) || errors.Is(err, datalayer.ErrOutcomeUnknown), "%v", err)
	assert.Contains(t, err.Error(), primary.Addr())
	assert.False(t, strings.Contains(err.Error(), c.Password()), "the message shows the password")
}
