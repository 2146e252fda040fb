//go:build linux

package patronitest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

func TestClusterStartsAndSwitchesOverPatroni(t *testing.T) {
	patronitest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	begin := time.Now()
	c, err := patronitest.Start(ctx, patronitest.Options{SynchronousMode: true, Logf: t.Logf})
	require.NoError(t, err)
	dir := c.Dir()
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
	}()
	t.Logf("cluster up in %s", time.Since(begin).Round(time.Millisecond))

	old, err := c.Leader(ctx)
	require.NoError(t, err)
	next, err := c.SyncStandby(ctx)
	require.NoError(t, err)
	require.NotNil(t, next, "synchronous_mode: a sync standby")
	require.NotEqual(t, old, next)
	var inRecovery bool
	require.NoError(t, c.QueryRow(ctx, old, "SELECT pg_is_in_recovery()", &inRecovery))
	require.False(t, inRecovery, "the leader is a primary")

	switching := time.Now()
	require.NoError(t, c.Switchover(ctx, next))
	t.Logf("switchover %s -> %s: healthy again in %s", old.Name, next.Name, time.Since(switching).Round(time.Millisecond))

	leader, err := c.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, next.Name, leader.Name)
	require.NoError(t, c.QueryRow(ctx, next, "SELECT pg_is_in_recovery()", &inRecovery))
	assert.False(t, inRecovery, "the new leader is a primary")
	require.NoError(t, c.QueryRow(ctx, old, "SELECT pg_is_in_recovery()", &inRecovery))
	assert.True(t, inRecovery, "the old leader came back as a replica")
	st, err := c.Status(ctx)
	require.NoError(t, err)
	for _, m := range st.Members {
		if m.Name == old.Name {
			assert.Contains(t, []string{"replica", "sync_standby"}, m.Role)
		}
	}

	require.NoError(t, c.Close())
	closed = true
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "Close removes %s", dir)
	assert.Empty(t, processesMentioning(t, dir), "Close leaves no process behind")
}

// processesMentioning lists the processes whose command line names dir.
func processesMentioning(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), dir) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}
