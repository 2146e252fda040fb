//go:build linux

package patronitest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

// The fault helpers do what they say: a killed PostgreSQL is restarted by
// its Patroni, but not in maintenance mode; a failover promotes the chosen
// replica; a node killed whole loses the leadership and comes back as a
// replica.
func TestClusterFaultsPatroni(t *testing.T) {
	patronitest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := patronitest.Start(ctx, patronitest.Options{Logf: t.Logf})
	require.NoError(t, err)
	dir := c.Dir()
	defer c.Close()

	leader, err := c.Leader(ctx)
	require.NoError(t, err)
	var replicas []*patronitest.Node
	for _, n := range c.Nodes() {
		if n != leader {
			replicas = append(replicas, n)
		}
	}
	r1, r2 := replicas[0], replicas[1]

	// A killed PostgreSQL comes back under its Patroni.
	begin := time.Now()
	require.NoError(t, c.KillPostgres(r1))
	_, err = c.WaitHealthy(ctx)
	require.NoError(t, err)
	t.Logf("%s's PostgreSQL restarted by Patroni in %s", r1.Name, time.Since(begin).Round(time.Millisecond))

	// Paused, Patroni leaves a dead PostgreSQL dead.
	require.NoError(t, c.Pause(ctx))
	st, err := c.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Pause)
	require.NoError(t, c.KillPostgres(r2))
	time.Sleep(4 * time.Second) // several Patroni loops (loop_wait 1 s)
	assert.ErrorIs(t, c.KillPostgres(r2), patronitest.ErrNotRunning, "paused: not restarted")
	require.NoError(t, c.Resume(ctx))
	begin = time.Now()
	_, err = c.WaitHealthy(ctx)
	require.NoError(t, err)
	t.Logf("resumed: %s's PostgreSQL restarted in %s", r2.Name, time.Since(begin).Round(time.Millisecond))

	// Failover to a chosen replica.
	begin = time.Now()
	require.NoError(t, c.Failover(ctx, r1))
	t.Logf("failover %s -> %s: healthy in %s", leader.Name, r1.Name, time.Since(begin).Round(time.Millisecond))

	// The leader dies whole: another node takes over within the ttl.
	begin = time.Now()
	require.NoError(t, c.KillNode(r1))
	require.Eventually(t, func() bool {
		l, err := c.Leader(ctx)
		if err != nil || l == r1 {
			return false
		}
		var rec bool
		return c.QueryRow(ctx, l, "SELECT pg_is_in_recovery()", &rec) == nil && !rec
	}, time.Minute, 100*time.Millisecond, "a new leader after %s died", r1.Name)
	t.Logf("%s killed: new leader in %s", r1.Name, time.Since(begin).Round(time.Millisecond))
	require.NoError(t, c.StartNode(r1))
	newLeader, err := c.WaitHealthy(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, r1, newLeader)
	var rec bool
	require.NoError(t, c.QueryRow(ctx, r1, "SELECT pg_is_in_recovery()", &rec))
	assert.True(t, rec, "%s came back as a replica", r1.Name)

	require.NoError(t, c.Close())
	_, err = os.Stat(filepath.Clean(dir))
	assert.True(t, os.IsNotExist(err), "Close removes %s", dir)
	assert.Empty(t, processesMentioning(t, dir), "Close leaves no process behind")
}
