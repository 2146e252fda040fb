package tests

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// Every node has a Batch and a Transactional pool (any node may be
// promoted), as info lists them, but only the primary's are used: on a
// replica they hold no connection. The README says so.
func TestBatchAndTransactionalPoolsAreUsedOnlyOnThePrimary(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	for _, mode := range []datalayer.Mode{datalayer.Batch, datalayer.Transactional, datalayer.ReadOnly} {
		require.NoError(t, stmt(t, ctx, "SELECT 1 in "+mode.String(), func(ctx context.Context) error {
			var one int
			return m.Conn(ctx, mode).Raw("SELECT 1").Scan(&one).Error
		}))
	}
	st := m.Plugin().Status()
	require.Len(t, st.Nodes, 3)
	for _, n := range st.Nodes {
		for _, kind := range []string{"write", "read", "batch", "transactional"} {
			require.Contains(t, n.Pools, kind, "node %s lists pool %s", n.Name, kind)
		}
		if n.Name == st.Primary {
			assert.Positive(t, n.Pools["batch"].OpenConnections, "the primary's Batch pool served the statement")
			assert.Positive(t, n.Pools["transactional"].OpenConnections)
			continue
		}
		assert.Zero(t, n.Pools["batch"].OpenConnections, "replica %s", n.Name)
		assert.Zero(t, n.Pools["transactional"].OpenConnections, "replica %s", n.Name)
	}
}
