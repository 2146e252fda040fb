package tests

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/plugin"
)

type maintRow struct {
	ID   int64
	Note string
}

// A primary set read-only for maintenance (ALTER DATABASE ... SET
// default_transaction_read_only = on) is not writable: one PrimaryChanged
// event, no flapping, writes end with ErrNoPrimary after failover_timeout
// (never a raw 25006), reads go on; when it is writable again writes resume.
func TestReadOnlyPrimaryForMaintenance(t *testing.T) {
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	ctx := testCtx(t)
	primary := c.Nodes()[0]

	var changes atomic.Int32
	cfg := testenv.Config(c)
	cfg.FailoverTimeout = time.Second
	m, err := datalayer.New(ctx, cfg, datalayer.WithHooks(plugin.Hooks{
		PrimaryChanged: func(old, primary string) { changes.Add(1) },
	}))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	db := m.DB().WithContext(ctx)
	require.NoError(t, db.AutoMigrate(&maintRow{}))
	require.NoError(t, db.Create(&maintRow{Note: "before"}).Error)
	waitReplicated(t, c, primary)
	changes.Store(0)

	db0 := c.Database()
	require.NoError(t, primary.Exec(ctx, "ALTER DATABASE "+db0+" SET default_transaction_read_only = on"))
	// Sessions that started before keep their setting: end them, as a
	// maintenance procedure does.
	require.NoError(t, primary.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`))
	time.Sleep(100 * time.Millisecond) // the sessions' FATAL and FIN reach the client first

	for i := range 3 {
		start := time.Now()
		err := db.Create(&maintRow{Note: "during"}).Error
		require.Error(t, err, "write %d", i)
		assert.ErrorIs(t, err, datalayer.ErrNoPrimary, "write %d", i)
		assert.Less(t, time.Since(start), cfg.FailoverTimeout+3*time.Second, "write %d waited too long", i)
		var n int64
		require.NoError(t, db.Model(&maintRow{}).Count(&n).Error, "reads go on")
	}
	assert.EqualValues(t, 1, changes.Load(), "one PrimaryChanged event, no flapping")

	require.NoError(t, primary.Exec(ctx, "BEGIN READ WRITE; ALTER DATABASE "+db0+" RESET default_transaction_read_only; COMMIT"))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := db.WithContext(wctx).Create(&maintRow{Note: "after"}).Error
		if err == nil {
			break
		}
		require.ErrorIs(t, err, datalayer.ErrNoPrimary, "only 'no primary' while it comes back")
	}
	assert.EqualValues(t, 2, changes.Load(), "one more event when it is writable again")
	var during int64
	require.NoError(t, db.Clauses(datalayer.ReadWrite).Model(&maintRow{}).Where("note = ?", "during").Count(&during).Error)
	assert.Zero(t, during, "refused writes did not run")
}

// After a switchover nobody told the Manager about (the probes are slow),
// a transaction begins on the old primary, now a standby, and its first
// write is refused with 25006. Nothing of it ran: m.Transaction re-runs it on
// the new primary, and plain GORM transactions get ErrNoPrimary, never a raw
// 25006; later transactions begin on the new primary.
func TestTransactionAfterUnnoticedSwitchover(t *testing.T) {
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	ctx := testCtx(t)
	old, next := c.Node("primary"), c.Node("replica1")
	m := newManager(t, c, func(cfg *datalayer.Config) {
		cfg.HealthCheckInterval = time.Hour // nothing but the refusal tells
		cfg.FailoverTimeout = 10 * time.Second
	})
	db := m.DB().WithContext(ctx)
	require.NoError(t, db.AutoMigrate(&maintRow{}))
	require.NoError(t, m.Transaction(ctx, func(tx *gorm.DB) error { return tx.Create(&maintRow{Note: "warm"}).Error }))
	waitReplicated(t, c, old)

	require.NoError(t, old.Stop(ctx))
	require.NoError(t, next.Promote(ctx))
	require.NoError(t, old.Repoint(ctx, next)) // back, as a standby

	runs := 0
	require.NoError(t, m.Transaction(ctx, func(tx *gorm.DB) error {
		runs++
		return tx.Create(&maintRow{Note: "moved"}).Error
	}))
	assert.Equal(t, 2, runs, "refused on the old primary, re-run on the new one")
	n, err := next.QueryInt(ctx, "SELECT count(*) FROM maint_rows WHERE note = 'moved'")
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "committed once, on the new primary")

	port := 0
	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		return tx.Raw("SELECT inet_server_port()").Scan(&port).Error
	}))
	assert.Equal(t, next.Port(), port, "the next transaction begins on the new primary")
}

// A plain GORM transaction refused with 25006 returns ErrNoPrimary with the
// server's error, not a bare 25006.
func TestGormTransactionRefusedIsNoPrimary(t *testing.T) {
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	ctx := testCtx(t)
	primary := c.Nodes()[0]
	m := newManager(t, c, func(cfg *datalayer.Config) { cfg.FailoverTimeout = time.Second })
	db := m.DB().WithContext(ctx)
	require.NoError(t, db.AutoMigrate(&maintRow{}))
	require.NoError(t, primary.Exec(ctx, "ALTER DATABASE "+c.Database()+" SET default_transaction_read_only = on"))
	// The pooled sessions end; the probe's does not, so the plugin still
	// takes the node for the primary and only the refusal can tell.
	require.NoError(t, primary.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
		AND application_name <> 'unifieddb-health'`))
	time.Sleep(100 * time.Millisecond) // the sessions' FATAL and FIN reach the client first
	err := db.Transaction(func(tx *gorm.DB) error { return tx.Create(&maintRow{Note: "x"}).Error })
	require.Error(t, err)
	assert.ErrorIs(t, err, datalayer.ErrNoPrimary)
	assert.Equal(t, "25006", plugin.SQLState(err), "the server's refusal is kept, wrapped")
	assert.True(t, plugin.IsRetryableTxError(err), "nothing committed: the transaction may be re-run")
}
