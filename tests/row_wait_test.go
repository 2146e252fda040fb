package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// Row() waits for a primary like every other statement (up to
// failover_timeout), instead of failing at once while none is known.
func TestRowWaitsForThePromotion(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	old, next := c.Node("primary"), c.Node("replica1")
	m := newManager(t, c, haConfig)
	require.NoError(t, old.Kill())
	require.Eventually(t, func() bool { return m.Plugin().Status().Primary == "" }, 10*time.Second, 20*time.Millisecond)

	promoted := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		promoted <- next.Promote(ctx)
	}()
	var port int
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Raw("SELECT inet_server_port()").Row().Scan(&port))
	require.NoError(t, <-promoted)
	require.Equal(t, next.Port(), port)
}
