package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// With the DEFAULT health settings (5 s interval, 5 s connection timeout),
// and with health checks off, a replica that stops answering (SIGSTOP) holds
// no read for long: the stall watcher probes it at once and its stuck reads
// are retried elsewhere. The target is 1 s; the assertion leaves room for a
// loaded machine, and the log line gives the measured figure.
func TestHungReplicaWithDefaultHealthSettings(t *testing.T) {
	c := startCluster(t, pgcluster.DefaultOptions())
	replica := c.Node("replica1")
	for _, checks := range []bool{true, false} {
		ctx := testCtx(t)
		m := newManager(t, c, func(cfg *datalayer.Config) {
			def := datalayer.DefaultConfig()
			cfg.HealthCheckInterval, cfg.ConnectionTimeout = def.HealthCheckInterval, def.ConnectionTimeout
			cfg.EnableHealthChecks = checks
		})
		if checks {
			seedItems(t, c, m, 50)
		}
		l := startLoad(t, ctx, 8, 5*time.Millisecond, readOp(m, 50))
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, replica.Pause())
		time.Sleep(5 * time.Second)
		require.NoError(t, replica.Resume())
		rs := l.Stop()
		require.NoError(t, m.Close())

		assert.Empty(t, failures(rs), "health checks %v: no read fails while a replica hangs", checks)
		var slowest time.Duration
		for _, r := range rs {
			slowest = max(slowest, r.End.Sub(r.Start))
		}
		t.Logf("health checks %v: %d reads, slowest %s (target 1s)", checks, len(rs), slowest)
		assert.Less(t, slowest, 2500*time.Millisecond, "health checks %v: a read waited for the probe interval", checks)
	}
}
