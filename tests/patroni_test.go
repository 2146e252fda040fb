//go:build linux

package tests

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
	"github.com/prompt-improver/unifieddb/plugin"
)

// startPatroni starts a Patroni cluster of the test's own, closed at cleanup.
func startPatroni(t *testing.T, opts patronitest.Options) *patronitest.Cluster {
	t.Helper()
	patronitest.Require(t)
	opts.Logf = t.Logf
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 80 * time.Second // within nodeOp's watchdog
	}
	var c *patronitest.Cluster
	require.NoError(t, nodeOp(t, testCtx(t), "start a Patroni cluster", func(ctx context.Context) (err error) {
		c, err = patronitest.Start(ctx, opts)
		return err
	}))
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

// patroniConfig is testenv.Config for a Patroni cluster: node1 as host,
// node2 and node3 as replicas, whoever Patroni made leader.
func patroniConfig(c *patronitest.Cluster) datalayer.Config {
	cfg := datalayer.DefaultConfig()
	nodes := c.Nodes()
	cfg.Host = nodes[0].Host
	cfg.Port = nodes[0].Port
	for _, n := range nodes[1:] {
		cfg.ReplicaHosts = append(cfg.ReplicaHosts, n.Addr())
	}
	cfg.Database = c.Database()
	cfg.Username = c.User()
	cfg.Password = c.Password()
	cfg.SSLMode = "disable"
	cfg.PoolTimeout = 5 * time.Second
	haConfig(&cfg) // health checks every 200 ms, failover_timeout 10 s
	return cfg
}

// patroniWritesOn counts ha_writes rows per (worker, seq) on n.
func patroniWritesOn(t *testing.T, c *patronitest.Cluster, n *patronitest.Node) map[[2]int]int {
	t.Helper()
	db, err := gorm.Open(postgres.Open(c.DSN(n)), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	defer sqlDB.Close()
	var rows []haWrite
	require.NoError(t, stmt(t, testCtx(t), "read ha_writes of "+n.Name, func(ctx context.Context) error {
		return db.WithContext(ctx).Find(&rows).Error
	}))
	out := map[[2]int]int{}
	for _, r := range rows {
		out[[2]int{r.Worker, r.Seq}]++
	}
	return out
}

// A `patronictl switchover` under a steady write load: writes resume on the
// new leader, none fails but those in flight at the demotion (as
// ErrOutcomeUnknown), no 25006 reaches the caller, and with
// synchronous_mode every acknowledged write is on the new leader once.
func TestPatroniSwitchoverWritesResumeOnTheNewLeader(t *testing.T) {
	c := startPatroni(t, patronitest.Options{SynchronousMode: true})
	ctx := testCtx(t)
	var cfg datalayer.Config
	var m *datalayer.Manager
	cfg = patroniConfig(c)
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg)
		return err
	}))
	t.Cleanup(func() { m.Close() })
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))

	old, err := c.Leader(ctx)
	require.NoError(t, err)
	next := syncStandby(t, ctx, c)

	const workers = 4
	l := startLoad(t, ctx, workers, 10*time.Millisecond, writeOp(m))
	time.Sleep(time.Second)
	switching := time.Now()
	out, err := c.Patronictl(ctx, "switchover", "--leader", old.Name, "--candidate", next.Name, "--force")
	require.NoError(t, err, out)
	switched := time.Now()
	t.Logf("patronictl switchover %s -> %s took %s", old.Name, next.Name, switched.Sub(switching).Round(time.Millisecond))
	require.NoError(t, nodeOp(t, ctx, "cluster healthy after the switchover", func(ctx context.Context) error {
		leader, err := c.WaitHealthy(ctx)
		if err == nil && leader != next {
			t.Errorf("%s leads, not %s", leader.Name, next.Name)
		}
		return err
	}))
	t.Logf("healthy again %s after the switchover began", time.Since(switching).Round(time.Millisecond))
	time.Sleep(time.Second)
	rs := l.Stop()

	for _, r := range failures(rs) {
		assert.NotEqual(t, "25006", plugin.SQLState(r.Err), "25006 reached the caller")
		assert.ErrorIs(t, r.Err, datalayer.ErrOutcomeUnknown, "write %d/%d started %s after the switchover began",
			r.Worker, r.Seq, r.Start.Sub(switching))
	}
	assert.LessOrEqual(t, len(failures(rs)), workers, "only writes in flight at the demotion fail")

	onNew := patroniWritesOn(t, c, next)
	var acked, late int
	for _, r := range rs {
		if r.Err != nil {
			continue
		}
		acked++
		require.Equal(t, 1, onNew[[2]int{r.Worker, r.Seq}], "acknowledged write %d/%d on the new leader", r.Worker, r.Seq)
		if r.Start.After(switched) {
			late++
		}
	}
	for k, n := range onNew {
		assert.LessOrEqual(t, n, 1, "write %v applied %d times", k, n)
	}
	assert.Positive(t, late, "writes started after the switchover are acknowledged")
	t.Logf("%d writes acknowledged (%d after the switchover), %d failed; longest write %s; longest gap between acknowledgements %s",
		acked, late, len(failures(rs)), longestWrite(rs), longestAckGap(rs))
}

func longestWrite(rs []loadgen.Result) time.Duration {
	var d time.Duration
	for _, r := range rs {
		d = max(d, r.End.Sub(r.Start))
	}
	return d.Round(time.Millisecond)
}

// longestAckGap is the longest time without any write acknowledged: how
// long writes were held up by the switchover.
func longestAckGap(rs []loadgen.Result) string {
	var ends []time.Time
	for _, r := range rs {
		if r.Err == nil {
			ends = append(ends, r.End)
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	var gap time.Duration
	for i := 1; i < len(ends); i++ {
		gap = max(gap, ends[i].Sub(ends[i-1]))
	}
	return gap.Round(time.Millisecond).String() + " over " + strconv.Itoa(len(ends)) + " acknowledgements"
}

// syncStandby is the node Patroni reports as synchronous standby; the test
// fails when there is none (synchronous_mode keeps one).
func syncStandby(t *testing.T, ctx context.Context, c *patronitest.Cluster) *patronitest.Node {
	t.Helper()
	next, err := c.SyncStandby(ctx)
	require.NoError(t, err)
	require.NotNil(t, next, "synchronous_mode: a sync standby")
	return next
}
