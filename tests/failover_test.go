package tests

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/plugin"
)

// haItem is read by the read-load tests.
type haItem struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

// haWrite is written by the write-load tests. No unique key on purpose: a
// write applied twice must show up as a duplicate, not as an error.
type haWrite struct {
	ID     uint `gorm:"primaryKey"`
	Worker int
	Seq    int
}

func haConfig(c *datalayer.Config) {
	c.HealthCheckInterval = 200 * time.Millisecond
	c.ConnectionTimeout = 2 * time.Second
	c.FailoverTimeout = 10 * time.Second
}

// seedItems creates ha_items with rows 1..n on the primary and waits until
// the replicas have them.
func seedItems(t *testing.T, c *pgcluster.Cluster, m *datalayer.Manager, n int) {
	ctx := testCtx(t)
	require.NoError(t, migrate(t, ctx, m, &haItem{}))
	for i := 1; i <= n; i++ {
		require.NoError(t, stmt(t, ctx, "seed insert", func(ctx context.Context) error {
			return m.Conn(ctx, datalayer.ReadWrite).Create(&haItem{Name: fmt.Sprint(i)}).Error
		}))
	}
	waitReplicated(t, c, c.Nodes()[0])
}

// migrate creates model's table on the primary.
func migrate(t *testing.T, ctx context.Context, m *datalayer.Manager, model any) error {
	return stmt(t, ctx, "AutoMigrate", func(ctx context.Context) error {
		return m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(model)
	})
}

func readOp(m *datalayer.Manager, n int) func(ctx context.Context, w, seq int) error {
	return func(ctx context.Context, w, seq int) error {
		var it haItem
		return m.DB().WithContext(ctx).First(&it, 1+(w*31+seq)%n).Error
	}
}

func writeOp(m *datalayer.Manager) func(ctx context.Context, w, seq int) error {
	return func(ctx context.Context, w, seq int) error {
		return m.DB().WithContext(ctx).Create(&haWrite{Worker: w, Seq: seq}).Error
	}
}

// servesReads waits until node answers Auto model reads again.
func servesReads(t *testing.T, m *datalayer.Manager, n *pgcluster.Node, within time.Duration) {
	t.Helper()
	ctx := testCtx(t)
	require.Eventually(t, func() bool {
		var port int
		err := stmt(t, ctx, "model read of inet_server_port()", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Model(&haItem{}).Select("inet_server_port()").Limit(1).Scan(&port).Error
		})
		return err == nil && port == n.Port()
	}, within, 20*time.Millisecond, "%s does not serve reads again", n.Name())
}

func TestReplicaCrashAndRestartFailsNoRead(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, haConfig)
	seedItems(t, c, m, 50)
	replica := c.Node("replica1")

	l := startLoad(t, ctx, 8, 5*time.Millisecond, readOp(m, 50))
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, replica.Kill())
	time.Sleep(3 * time.Second)
	require.NoError(t, nodeOp(t, ctx, "restart replica1", replica.Start))
	servesReads(t, m, replica, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	rs := l.Stop()

	assert.Greater(t, len(rs), 1000, "steady load")
	assert.Empty(t, failures(rs), "no read fails while a replica crashes and restarts")
}

func TestHungReplicaFailsNoReadAndStallsNone(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, haConfig)
	seedItems(t, c, m, 50)
	replica := c.Node("replica1")

	l := startLoad(t, ctx, 8, 5*time.Millisecond, readOp(m, 50))
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, replica.Pause())
	time.Sleep(10 * time.Second)
	require.NoError(t, replica.Resume())
	servesReads(t, m, replica, 10*time.Second)
	rs := l.Stop()

	assert.Empty(t, failures(rs), "no read fails while a replica hangs")
	limit := m.Config().ConnectionTimeout + time.Second
	var slowest time.Duration
	for _, r := range rs {
		slowest = max(slowest, r.End.Sub(r.Start))
	}
	t.Logf("%d reads, slowest %s (limit %s)", len(rs), slowest, limit)
	assert.LessOrEqual(t, slowest, limit, "no read waits more than connection_timeout + 1s")
}

func TestPrimaryCrashWritesWaitForThePromotionAndNothingIsLost(t *testing.T) {
	ctx := testCtx(t)
	c, primary, next, other := syncCrashCluster(t, ctx)
	m := newManager(t, c, haConfig)
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))

	const workers = 8
	l := startLoad(t, ctx, workers, 5*time.Millisecond, writeOp(m))
	time.Sleep(time.Second)
	killing := time.Now()
	require.NoError(t, primary.Kill())
	// A crash takes a few milliseconds to complete (every process of the
	// server dies); writes started meanwhile were in flight at the crash.
	crashed := time.Now()
	t.Logf("kill took %s", crashed.Sub(killing))
	time.Sleep(2 * time.Second)
	require.NoError(t, nodeOp(t, ctx, "promote replica1", next.Promote))
	promoted := time.Now()
	t.Logf("promote took %s", promoted.Sub(crashed.Add(2*time.Second)))
	require.NoError(t, nodeOp(t, ctx, "repoint replica2", func(ctx context.Context) error { return other.Repoint(ctx, next) }))
	t.Logf("repoint took %s", time.Since(promoted))
	time.Sleep(time.Second)
	rs := l.Stop()
	t.Logf("load stopped %s after promotion", time.Since(promoted))

	checkCrashWrites(t, rs, crashed, promoted, workers, writesOn(t, next))
}

// checkCrashWrites checks the writes of a load through a primary crash:
// only those in flight at the crash failed (ErrOutcomeUnknown, at most one
// per worker), those that waited resumed within 0.3 s of the promotion, and
// every acknowledged write is in onNew (the new primary's) exactly once.
func checkCrashWrites(t *testing.T, rs []loadgen.Result, crashed, promoted time.Time, workers int, onNew map[[2]int]int) {
	t.Helper()
	var acked []loadgen.Result
	for _, r := range rs {
		switch {
		case r.Err == nil:
			acked = append(acked, r)
		case r.Start.Before(crashed):
			assert.ErrorIs(t, r.Err, datalayer.ErrOutcomeUnknown, "in flight at the crash")
		default:
			t.Errorf("write started %s after the crash completed failed: %v", r.Start.Sub(crashed), r.Err)
		}
		if r.Err == nil && r.Start.After(crashed.Add(100*time.Millisecond)) && r.Start.Before(promoted) {
			assert.LessOrEqual(t, r.End.Sub(promoted), 300*time.Millisecond, "a write that waited resumes within 0.3 s of the promotion")
		}
	}
	assert.LessOrEqual(t, len(failures(rs)), workers, "only writes in flight at the crash fail")

	// Every acknowledged write is on the new primary, exactly once.
	for _, r := range acked {
		require.Equal(t, 1, onNew[[2]int{r.Worker, r.Seq}], "acknowledged write %d/%d", r.Worker, r.Seq)
	}
	for k, n := range onNew {
		assert.LessOrEqual(t, n, 1, "write %v applied %d times", k, n)
	}
	t.Logf("%d writes acknowledged, %d failed", len(acked), len(failures(rs)))
}

func TestSwitchoverNeverSurfaces25006(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	old, next, other := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	m := newManager(t, c, haConfig)
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))

	const workers = 8
	l := startLoad(t, ctx, workers, 5*time.Millisecond, writeOp(m))
	time.Sleep(time.Second)
	require.NoError(t, nodeOp(t, ctx, "stop the primary", old.Stop))
	stopped := time.Now()
	require.NoError(t, nodeOp(t, ctx, "promote replica1", next.Promote))
	// The old primary comes back as a standby.
	require.NoError(t, nodeOp(t, ctx, "repoint the old primary", func(ctx context.Context) error { return old.Repoint(ctx, next) }))
	require.NoError(t, nodeOp(t, ctx, "repoint replica2", func(ctx context.Context) error { return other.Repoint(ctx, next) }))
	time.Sleep(time.Second)
	rs := l.Stop()

	for _, r := range failures(rs) {
		assert.NotEqual(t, "25006", plugin.SQLState(r.Err), "25006 reached the caller")
		assert.True(t, r.Start.Before(stopped), "write started after the switchover began failed: %v", r.Err)
		assert.ErrorIs(t, r.Err, datalayer.ErrOutcomeUnknown)
	}
	assert.LessOrEqual(t, len(failures(rs)), workers)
	onNew := writesOn(t, next)
	var late int
	for _, r := range rs {
		if r.Err == nil && r.Start.After(stopped) {
			late++
			require.Equal(t, 1, onNew[[2]int{r.Worker, r.Seq}], "write %d/%d on the new primary", r.Worker, r.Seq)
		}
	}
	assert.Positive(t, late, "writes landed on the new primary")
}

func TestLaggingReplicaLeavesRotationAndReadYourWrites(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.MaxReplicationLag = time.Second
		cfg.ReadYourWritesTimeout = 50 * time.Millisecond
	})
	seedItems(t, c, m, 10)
	lagging, fine := c.Node("replica1"), c.Node("replica2")

	checkRYW := func() {
		for i := range 50 {
			rctx := datalayer.WithReadYourWrites(ctx)
			it := haItem{Name: fmt.Sprint("ryw-", i)}
			require.NoError(t, stmt(t, rctx, "read-your-writes insert", func(ctx context.Context) error {
				return m.DB().WithContext(ctx).Create(&it).Error
			}))
			var got haItem
			require.NoError(t, stmt(t, rctx, "read-your-writes read", func(ctx context.Context) error {
				return m.DB().WithContext(ctx).First(&got, it.ID).Error
			}), "read-your-writes read %d", i)
			assert.Equal(t, it.Name, got.Name)
		}
	}
	checkRYW()

	require.NoError(t, nodeOp(t, ctx, "pause replay on replica1", lagging.PauseReplay))
	// The table first: a write begun before it exists fails (42P01).
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	writes := startLoad(t, ctx, 1, 20*time.Millisecond, writeOp(m))
	// Past max_replication_lag the lagging replica serves no read.
	require.Eventually(t, func() bool {
		for range 20 {
			if servedByModelRead(t, m.DB().WithContext(ctx), &haItem{}) != fine.Port() {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "the lagging replica stays in rotation")
	checkRYW()

	require.NoError(t, nodeOp(t, ctx, "resume replay on replica1", lagging.ResumeReplay))
	servesReads(t, m, lagging, 10*time.Second)
	assert.Empty(t, failures(writes.Stop()))
}

func TestNodesDownAtStartAllReplicasDownAndEverythingDown(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	setup := newManager(t, c, haConfig)
	seedItems(t, c, setup, 10)
	require.NoError(t, nodeOp(t, ctx, "stop replica1", r1.Stop))

	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.FailoverTimeout = 2 * time.Second
	})
	read := func() error {
		return stmt(t, ctx, "read", func(ctx context.Context) error {
			var it haItem
			return m.DB().WithContext(ctx).First(&it, 1).Error
		})
	}
	for range 20 {
		require.NoError(t, read(), "a replica down at start")
	}
	require.NoError(t, nodeOp(t, ctx, "start replica1", r1.Start))
	servesReads(t, m, r1, 10*time.Second)

	// Every replica down: reads fall back to the primary.
	require.NoError(t, nodeOp(t, ctx, "stop replica1", r1.Stop))
	require.NoError(t, nodeOp(t, ctx, "stop replica2", r2.Stop))
	for range 20 {
		require.NoError(t, read(), "all replicas down")
	}
	assert.Equal(t, primary.Port(), servedByModelRead(t, m.DB().WithContext(ctx), &haItem{}))

	// Everything down: clear errors within failover_timeout, no hang.
	require.NoError(t, nodeOp(t, ctx, "stop the primary", primary.Stop))
	limit := m.Config().FailoverTimeout + time.Second
	start := time.Now()
	err := read()
	assert.True(t, errors.Is(err, datalayer.ErrNoHealthyNode) || errors.Is(err, datalayer.ErrNoPrimary), "read: %v", err)
	assert.Less(t, time.Since(start), limit)
	start = time.Now()
	err = stmt(t, ctx, "write", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&haItem{Name: "x"}).Error
	})
	assert.ErrorIs(t, err, datalayer.ErrNoPrimary)
	assert.Less(t, time.Since(start), limit)
}

// The legacy guide's case: host unreachable, replica_hosts pointing at a live
// standalone server.
func TestUnreachableHostWithAStandaloneReplicaHost(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{})
	m := newManager(t, c, func(cfg *datalayer.Config) {
		live := cfg.Host + ":" + fmt.Sprint(cfg.Port)
		dead := deadAddr(t)
		cfg.Host, cfg.Port = "127.0.0.1", portOf(t, dead)
		cfg.ReplicaHosts = []string{live}
		cfg.FailoverTimeout = time.Second
	})
	var one int
	require.NoError(t, stmt(t, ctx, "SELECT 1", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Raw("SELECT 1").Scan(&one).Error
	}))
	assert.Equal(t, 1, one)
}

// writesOn counts the ha_writes rows of node by (worker, seq), read straight
// from the server, not through the Manager under test.
func writesOn(t *testing.T, n *pgcluster.Node) map[[2]int]int {
	t.Helper()
	db, err := gorm.Open(postgres.Open(n.DSN()), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	defer sqlDB.Close()
	var rows []haWrite
	require.NoError(t, stmt(t, testCtx(t), "read ha_writes of "+n.Name(), func(ctx context.Context) error {
		return db.WithContext(ctx).Find(&rows).Error
	}))
	out := map[[2]int]int{}
	for _, r := range rows {
		out[[2]int{r.Worker, r.Seq}]++
	}
	return out
}

// syncCrashCluster starts a primary whose commits wait for replica1
// (acknowledged commits are on replica1 before the client hears of them)
// and a second replica; replica1 has no synchronous standby of its own, so
// it does not wait for one once promoted.
func syncCrashCluster(t *testing.T, ctx context.Context) (c *pgcluster.Cluster, primary, next, other *pgcluster.Node) {
	t.Helper()
	opts := pgcluster.DefaultOptions()
	opts.SyncReplica = true
	c = startCluster(t, opts)
	primary, next, other = c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	require.NoError(t, stmt(t, ctx, "replica1: no synchronous standby of its own", func(ctx context.Context) error {
		if err := next.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = ''"); err != nil {
			return err
		}
		return next.Exec(ctx, "SELECT pg_reload_conf()")
	}))
	return c, primary, next, other
}
