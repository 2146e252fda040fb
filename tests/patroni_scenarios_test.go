//go:build linux

package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/haproxytest"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
	"github.com/prompt-improver/unifieddb/internal/watchdog"
	"github.com/prompt-improver/unifieddb/plugin"
)

// Issue 11's scenarios: Patroni, not our harness, decides every promotion.
// They share one Patroni cluster (synchronous_mode) and run one after the
// other, each under a steady read and write load, each with the history
// check: failed reads, failed writes (only those in flight, as
// ErrOutcomeUnknown), lost and duplicated acknowledged writes, no 25006,
// and the time from the promotion to the first write acknowledged after it.
func TestPatroniScenarios(t *testing.T) {
	// The whole run (start, six scenarios) may take several minutes on a
	// busy machine; each scenario has its own 2-minute testCtx besides.
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	t.Cleanup(cancel)
	t.Cleanup(watchdog.ForTest(t).Watch(ctx, "the Patroni scenarios"))
	patronitest.Require(t)
	var c *patronitest.Cluster
	require.NoError(t, nodeOp(t, ctx, "start a Patroni cluster", func(ctx context.Context) (err error) {
		c, err = patronitest.Start(ctx, patronitest.Options{SynchronousMode: true, Logf: t.Logf, StartTimeout: 3 * time.Minute})
		return err
	}))
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	cfg := patroniConfig(c)
	// Patroni's leader lock lives 10 s (ttl): a write waits for the next
	// leader rather than fail with ErrNoPrimary.
	cfg.FailoverTimeout = 30 * time.Second
	var (
		m        *datalayer.Manager
		switchMu sync.Mutex
		switchAt time.Time // when the Manager last routed writes to a new primary
	)
	hooks := plugin.Hooks{PrimaryChanged: func(_, primary string) {
		if primary != "" {
			switchMu.Lock()
			switchAt = time.Now()
			switchMu.Unlock()
		}
	}}
	var (
		insertsMu sync.Mutex
		inserts   []plugin.Statement // acknowledged INSERT attempts
	)
	seeInserts := plugin.StatementFunc(func(_ context.Context, s plugin.Statement) {
		if s.Err == nil && s.Operation() == "INSERT" {
			insertsMu.Lock()
			inserts = append(inserts, s)
			insertsMu.Unlock()
		}
	})
	// firstSentTo: the first acknowledged INSERT attempt sent to node after t.
	firstSentTo := func(node string, t time.Time) (plugin.Statement, bool) {
		insertsMu.Lock()
		defer insertsMu.Unlock()
		var first plugin.Statement
		for _, s := range inserts {
			if s.Node == node && s.Start.After(t) && (first.Start.IsZero() || s.Start.Before(first.Start)) {
				first = s
			}
		}
		return first, !first.Start.IsZero()
	}
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, datalayer.WithHooks(hooks), datalayer.WithStatementHook(seeInserts))
		return err
	}))
	t.Cleanup(func() { m.Close() })
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	require.NoError(t, migrate(t, ctx, m, &haItem{}))
	for i := 1; i <= 20; i++ {
		require.NoError(t, stmt(t, ctx, "seed", func(ctx context.Context) error {
			return m.Conn(ctx, datalayer.ReadWrite).Create(&haItem{Name: fmt.Sprint(i)}).Error
		}))
	}

	// Plain GORM beside the Manager, through HAProxy's /primary port
	// (Patroni's documented set-up), same load, same faults.
	var gdb *gorm.DB
	if _, err := haproxytest.Binary(); err == nil {
		px := startHAProxyCtx(t, ctx, c, false)
		gdb, err = gorm.Open(postgres.Open(proxyDSN(c, px.PrimaryPort)), &gorm.Config{Logger: logger.Discard})
		require.NoError(t, err)
		gsql, err := gdb.DB()
		require.NoError(t, err)
		t.Cleanup(func() { gsql.Close() })
	} else {
		t.Logf("%v: plain GORM behind HAProxy is not compared", err)
	}

	leaderAndReplicas := func(ctx context.Context) (*patronitest.Node, []*patronitest.Node) {
		t.Helper()
		leader, err := c.Leader(ctx)
		require.NoError(t, err)
		var rs []*patronitest.Node
		for _, n := range c.Nodes() {
			if n != leader {
				rs = append(rs, n)
			}
		}
		return leader, rs
	}
	healthy := func(t *testing.T, ctx context.Context) *patronitest.Node {
		t.Helper()
		var leader *patronitest.Node
		require.NoError(t, nodeOp(t, ctx, "Patroni cluster healthy", func(ctx context.Context) (err error) {
			leader, err = c.WaitHealthy(ctx)
			return err
		}))
		return leader
	}
	patroniOp := func(t *testing.T, ctx context.Context, what string, op func(context.Context) error) {
		t.Helper()
		require.NoError(t, nodeOp(t, ctx, what, op))
	}

	scenarios := []struct {
		name  string
		fault func(t *testing.T, ctx context.Context)
		// promotes: Patroni makes another node the leader.
		promotes bool
	}{
		{"kill the leader's PostgreSQL", func(t *testing.T, ctx context.Context) {
			leader, _ := leaderAndReplicas(ctx)
			require.NoError(t, c.KillPostgres(leader))
			healthy(t, ctx)
		}, false},
		{"kill the leader's Patroni and PostgreSQL", func(t *testing.T, ctx context.Context) {
			leader, _ := leaderAndReplicas(ctx)
			require.NoError(t, c.KillNode(leader))
			require.Eventually(t, func() bool {
				l, err := c.Leader(ctx)
				var rec bool
				return err == nil && l != leader && c.QueryRow(ctx, l, "SELECT pg_is_in_recovery()", &rec) == nil && !rec
			}, time.Minute, 100*time.Millisecond, "a new leader after %s died", leader.Name)
			time.Sleep(time.Second) // writes on the new leader before the old node returns
			require.NoError(t, c.StartNode(leader))
			healthy(t, ctx)
		}, true},
		{"patronictl switchover", func(t *testing.T, ctx context.Context) {
			leader, _ := leaderAndReplicas(ctx)
			next := syncStandby(t, ctx, c)
			patroniOp(t, ctx, "patronictl switchover", func(ctx context.Context) error {
				out, err := c.Patronictl(ctx, "switchover", "--leader", leader.Name, "--candidate", next.Name, "--force")
				if err != nil {
					return fmt.Errorf("%w: %s", err, out)
				}
				return nil
			})
			healthy(t, ctx)
		}, true},
		{"failover to a chosen replica", func(t *testing.T, ctx context.Context) {
			// In synchronous_mode Patroni promotes only the synchronous standby.
			next := syncStandby(t, ctx, c)
			patroniOp(t, ctx, "failover to "+next.Name, func(ctx context.Context) error { return c.Failover(ctx, next) })
		}, true},
		{"replica removed and re-added", func(t *testing.T, ctx context.Context) {
			_, rs := leaderAndReplicas(ctx)
			require.NoError(t, c.KillNode(rs[0]))
			time.Sleep(3 * time.Second)
			require.NoError(t, c.StartNode(rs[0]))
			healthy(t, ctx)
		}, false},
		{"paused (maintenance mode) while a replica dies", func(t *testing.T, ctx context.Context) {
			patroniOp(t, ctx, "pause", c.Pause)
			_, rs := leaderAndReplicas(ctx)
			require.NoError(t, c.KillPostgres(rs[0]))
			time.Sleep(3 * time.Second) // paused: nothing restarts it
			patroniOp(t, ctx, "resume", c.Resume)
			healthy(t, ctx)
		}, false},
	}

	var rows []string
	for _, sc := range scenarios {
		ok := t.Run(sc.name, func(t *testing.T) {
			ctx := testCtx(t) // each scenario has its own 2 minutes
			require.NoError(t, stmt(t, ctx, "truncate ha_writes", func(ctx context.Context) error {
				return m.Conn(ctx, datalayer.ReadWrite).Exec("TRUNCATE ha_writes").Error
			}))
			before, _ := leaderAndReplicas(ctx)
			watch := watchPromotion(t, c)
			const workers = 4
			writes := startLoad(t, ctx, workers, 10*time.Millisecond, writeOp(m))
			reads := startLoad(t, ctx, workers, 10*time.Millisecond, readOp(m, 20))
			var gwrites, greads *loadgen.Run
			if gdb != nil {
				gwrites = startLoad(t, ctx, workers, 10*time.Millisecond, gormWriteOp(gdb))
				greads = startLoad(t, ctx, workers, 10*time.Millisecond, gormReadOp(gdb, 20))
			}
			time.Sleep(time.Second)
			faultAt := time.Now()
			sc.fault(t, ctx)
			time.Sleep(2 * time.Second)
			ws, rs := writes.Stop(), reads.Stop()
			var gws, grs []loadgen.Result
			if gdb != nil {
				gws, grs = gwrites.Stop(), greads.Stop()
				for i := range gws {
					gws[i].Worker += gormWorkerBase
				}
			}
			promotedAt, promoted := watch.stop()

			after := healthy(t, ctx)
			if sc.promotes {
				assert.NotEqual(t, before, after, "Patroni promoted another node")
			}
			mine, theirs := splitWrites(patroniWritesOn(t, c, after))
			h := checkHistory(ws, mine)
			assertHistory(t, sc.name, h)
			for _, r := range append(failures(ws), failures(rs)...) {
				assert.NotEqual(t, "25006", plugin.SQLState(r.Err), "25006 reached the caller: %v", r.Err)
			}
			// A write fails only as in flight (ErrOutcomeUnknown, at most one
			// per worker) or as not sent, when the outage outlasted its own
			// deadline (loadgen.RequestTimeout) while it waited for a primary.
			assert.Empty(t, h.other, "writes failed with an error that says neither")
			// In flight: one per worker at the fault; the crash of a restarted
			// node's backends may catch a second one (seen once in 8 runs).
			assert.LessOrEqual(t, h.unknown, 2*workers, "only writes in flight end as outcome unknown")
			for _, r := range failures(ws) {
				t.Logf("write %d/%d failed: started %s after the fault, took %s: %v", r.Worker, r.Seq,
					r.Start.Sub(faultAt).Round(time.Millisecond), r.End.Sub(r.Start).Round(time.Millisecond), r.Err)
				if notSent(r.Err) {
					assert.GreaterOrEqual(t, r.End.Sub(r.Start), loadgen.RequestTimeout-time.Second,
						"write %d/%d, %s after the fault, gave up before its deadline: %v",
						r.Worker, r.Seq, r.Start.Sub(faultAt).Round(time.Millisecond), r.Err)
				}
			}
			assert.Empty(t, failures(rs), "no read fails")

			resume, switched, sent := "-", "-", "-"
			if sc.promotes {
				require.True(t, promoted, "the promotion was seen")
				first, ok := firstAckAt(ws, promotedAt)
				require.True(t, ok, "a write acknowledged after the promotion")
				resume = first.Sub(promotedAt).Round(time.Millisecond).String()
				switchMu.Lock()
				switched = switchAt.Sub(promotedAt).Round(time.Millisecond).String()
				switchMu.Unlock()
				if s, ok := firstSentTo(after.Addr(), promotedAt); ok {
					// Sent then, acknowledged Duration later: in synchronous_mode
					// a commit waits for a standby streaming from the new leader.
					sent = fmt.Sprintf("%s (commit took %s)", s.Start.Sub(promotedAt).Round(time.Millisecond), s.Duration.Round(time.Millisecond))
				}
			}
			rows = append(rows, fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s | %s |",
				sc.name, len(ws)+len(rs), len(failures(rs)), h.unknown, h.notSent, h.lost, h.duplicated,
				count25006(ws, rs), switched, sent, resume, longestWrite(append(append([]loadgen.Result(nil), ws...), rs...))))
			if gdb != nil {
				gh := checkHistory(gws, theirs)
				gresume := "-"
				if first, ok := firstAckAt(gws, promotedAt); ok && sc.promotes {
					gresume = first.Sub(promotedAt).Round(time.Millisecond).String()
				}
				rows = append(rows, fmt.Sprintf("| ↳ plain GORM via HAProxy | %d | %d | %d failed | - | %d | %d | %d | - | - | %s | %s |",
					len(gws)+len(grs), len(failures(grs)), len(failures(gws)), gh.lost, gh.duplicated,
					count25006(gws, grs), gresume, longestWrite(append(append([]loadgen.Result(nil), gws...), grs...))))
			}
		})
		if !ok {
			break // the next scenario needs a healthy cluster
		}
	}
	t.Log("| scenario | ops | failed reads | writes in flight (unknown) | writes not sent | lost | duplicated | 25006 | promotion → Manager switched | promotion → first write sent | promotion → first write acknowledged | slowest |")
	t.Log("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		t.Log(r)
	}
}

// splitWrites splits the rows of ha_writes into the Manager's and plain
// GORM's (workers from gormWorkerBase).
func splitWrites(rows map[[2]int]int) (mine, theirs map[[2]int]int) {
	mine, theirs = map[[2]int]int{}, map[[2]int]int{}
	for k, v := range rows {
		if k[0] >= gormWorkerBase {
			theirs[k] = v
		} else {
			mine[k] = v
		}
	}
	return mine, theirs
}

// gormReadOp is readOp for plain GORM.
func gormReadOp(db *gorm.DB, n int) func(ctx context.Context, w, seq int) error {
	return func(ctx context.Context, w, seq int) error {
		var it haItem
		return db.WithContext(ctx).First(&it, 1+(w*31+seq)%n).Error
	}
}

func count25006(sets ...[]loadgen.Result) int {
	n := 0
	for _, rs := range sets {
		for _, r := range rs {
			if plugin.SQLState(r.Err) == "25006" {
				n++
			}
		}
	}
	return n
}

// firstAckAt is the end of the first write acknowledged after t.
func firstAckAt(rs []loadgen.Result, t time.Time) (time.Time, bool) {
	var first time.Time
	for _, r := range rs {
		if r.Err == nil && r.End.After(t) && (first.IsZero() || r.End.Before(first)) {
			first = r.End
		}
	}
	return first, !first.IsZero()
}

// promotionWatch polls every node's pg_is_in_recovery() every 10 ms over
// its own connection and notes when a node that was a standby first
// answers as a primary: the moment of the promotion, within 10 ms.
type promotionWatch struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	at     time.Time
}

func watchPromotion(t *testing.T, c *patronitest.Cluster) *promotionWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &promotionWatch{cancel: cancel}
	for _, n := range c.Nodes() {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.poll(ctx, c.DSN(n))
		}()
	}
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *promotionWatch) poll(ctx context.Context, dsn string) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	wasStandby := false
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := pgx.Connect(cctx, dsn)
			cancel()
			if err != nil {
				continue
			}
			conn = c
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		var rec bool
		err := conn.QueryRow(qctx, "SELECT pg_is_in_recovery()").Scan(&rec)
		cancel()
		if err != nil {
			conn.Close(context.Background())
			conn = nil
			continue
		}
		if rec {
			wasStandby = true
		} else if wasStandby {
			w.mu.Lock()
			if w.at.IsZero() {
				w.at = time.Now()
			}
			w.mu.Unlock()
			wasStandby = false
		}
	}
}

// stop ends the polling and returns when the first promotion was seen.
func (w *promotionWatch) stop() (time.Time, bool) {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at, !w.at.IsZero()
}
