package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// haEvent is written on the second cluster ("events", placed by its table).
type haEvent struct {
	ID     uint `gorm:"primaryKey"`
	Worker int
	Seq    int
}

// A primary crash on one cluster fails only the writes in flight there, as
// with one cluster, and not one statement of the other cluster's steady load.
func TestFailoverOfOneClusterLeavesTheOtherAlone(t *testing.T) {
	ctx := testCtx(t)
	c, primary, next, other := syncCrashCluster(t, ctx)
	events := startCluster(t, pgcluster.Options{Replicas: 1})
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		testenv.AddCluster(cfg, "events", events, "", "ha_events")
	})
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	require.NoError(t, mcOnPrimary(t, events, events.Database()).AutoMigrate(&haEvent{}))
	waitReplicated(t, events, events.Nodes()[0])

	const workers = 8
	writes := startLoad(t, ctx, workers, 5*time.Millisecond, writeOp(m))
	evWrites := startLoad(t, ctx, 4, 5*time.Millisecond, func(ctx context.Context, w, seq int) error {
		return m.DB().WithContext(ctx).Create(&haEvent{Worker: w, Seq: seq}).Error
	})
	evReads := startLoad(t, ctx, 4, 5*time.Millisecond, func(ctx context.Context, w, seq int) error {
		var n int64
		return m.DB().WithContext(ctx).Model(&haEvent{}).Count(&n).Error
	})
	// Transactions that name no cluster, begun lazily on their first
	// statement's (lazytx.go): on each cluster, one worker each, so that
	// the crash test's own timings are measured under the load they had.
	evTxs := startLoad(t, ctx, 1, 10*time.Millisecond, func(ctx context.Context, w, seq int) error {
		return m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return tx.Create(&haEvent{Worker: 100 + w, Seq: seq}).Error
		})
	})
	txs := startLoad(t, ctx, 1, 10*time.Millisecond, func(ctx context.Context, w, seq int) error {
		return m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return tx.Create(&haWrite{Worker: 100 + w, Seq: seq}).Error
		})
	})
	time.Sleep(time.Second)
	require.NoError(t, primary.Kill())
	crashed := time.Now()
	time.Sleep(2 * time.Second)
	require.NoError(t, nodeOp(t, ctx, "promote replica1", next.Promote))
	promoted := time.Now()
	require.NoError(t, nodeOp(t, ctx, "repoint replica2", func(ctx context.Context) error { return other.Repoint(ctx, next) }))
	time.Sleep(time.Second)
	rs, evW, evR, evT, txR := writes.Stop(), evWrites.Stop(), evReads.Stop(), evTxs.Stop(), txs.Stop()

	onNew := writesOn(t, next)
	checkCrashWrites(t, rs, crashed, promoted, workers, onNew)
	checkCrashTxs(t, txR, crashed, 100, onNew)
	for _, r := range append(append(failures(evW), failures(evR)...), failures(evT)...) {
		t.Errorf("events cluster: a statement started %s after the other cluster's crash failed: %v", r.Start.Sub(crashed), r.Err)
	}
	assert.Greater(t, acked(evW), 100, "the events cluster took writes all along")
	assert.Greater(t, acked(evR), 100, "and reads")
	assert.Greater(t, acked(evT), 20, "and transactions")
	t.Logf("events cluster: %d writes, %d reads and %d transactions, 0 failed", acked(evW), acked(evR), acked(evT))
}

// checkCrashTxs checks lazily begun transactions through a primary crash:
// only those begun before it fail (a statement or COMMIT in flight), those
// begun after wait for the promotion and commit, and every acknowledged one
// is on the new primary once (workers numbered from base).
func checkCrashTxs(t *testing.T, rs []loadgen.Result, crashed time.Time, base int, onNew map[[2]int]int) {
	t.Helper()
	for _, r := range rs {
		switch {
		case r.Err == nil:
			assert.Equal(t, 1, onNew[[2]int{base + r.Worker, r.Seq}], "acknowledged transaction %d/%d", r.Worker, r.Seq)
		case r.Start.After(crashed):
			t.Errorf("a transaction begun %s after the crash failed: %v", r.Start.Sub(crashed), r.Err)
		}
	}
	assert.Greater(t, acked(rs), 20, "transactions committed")
	t.Logf("lazily begun transactions on the crashed cluster: %d committed, %d failed", acked(rs), len(failures(rs)))
}

func acked(rs []loadgen.Result) int { return len(rs) - len(failures(rs)) }
