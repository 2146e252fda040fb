package tests

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/registry"
)

// With several clusters a transaction that names no cluster is pinned to the
// cluster of its first statement (issue 18), and stays a *sql.Tx.
func TestClustersTransactionPinnedToItsFirstStatement(t *testing.T) {
	cfg, events, defDB, evDB := twoClusters(t, 1, "mc_events")
	require.NoError(t, defDB.AutoMigrate(&mcUser{}))
	require.NoError(t, evDB.AutoMigrate(&mcEvent{}, &mcAudit{}))
	waitReplicated(t, events, events.Nodes()[0])

	reg := registry.New()
	require.NoError(t, reg.Place("events", &mcAudit{}))
	m := openManager(t, cfg, datalayer.WithRegistry(reg))
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)
	count := func(db *gorm.DB, model any) (n int64) {
		require.NoError(t, db.Model(model).Count(&n).Error)
		return n
	}

	// The first statement is on events: the whole transaction runs there,
	// on a *sql.Tx as with plain GORM.
	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		_, isTx := tx.Statement.ConnPool.(*sql.Tx)
		assert.True(t, isTx, "the transaction is a *sql.Tx")
		if err := tx.Create(&mcEvent{Kind: "first"}).Error; err != nil {
			return err
		}
		return tx.Create(&mcAudit{What: "same cluster"}).Error
	}))
	assert.EqualValues(t, 1, count(evDB, &mcEvent{}))
	assert.EqualValues(t, 1, count(evDB, &mcAudit{}))

	// A statement of another cluster after it is refused, typed, naming the
	// transaction's cluster first; nothing of it commits.
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&mcEvent{Kind: "rolled back"}).Error; err != nil {
			return err
		}
		return tx.Create(&mcUser{Name: "elsewhere"}).Error
	})
	var cce *datalayer.CrossClusterError
	require.ErrorAs(t, err, &cce)
	assert.Equal(t, []string{"events", "default"}, cce.Clusters)
	assert.Equal(t, []string{"mc_users"}, cce.Tables)
	assert.EqualValues(t, 1, count(evDB, &mcEvent{}), "rolled back")
	assert.EqualValues(t, 0, count(defDB, &mcUser{}))

	// A first statement of the default cluster pins it there.
	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		return tx.Create(&mcUser{Name: "home"}).Error
	}))
	assert.EqualValues(t, 1, count(defDB, &mcUser{}))

	// Manager.Transaction, raw SQL naming a placed table, nested
	// transactions whose SAVEPOINT comes before the first statement.
	require.NoError(t, m.Transaction(ctx, func(tx *gorm.DB) error {
		return tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Exec("INSERT INTO mc_events (kind) VALUES ('raw')").Error; err != nil {
				return err
			}
			// A nested transaction that fails rolls back to its savepoint only.
			err := tx2.Transaction(func(tx3 *gorm.DB) error {
				if err := tx3.Create(&mcEvent{Kind: "undone"}).Error; err != nil {
					return err
				}
				return errors.New("undo")
			})
			assert.EqualError(t, err, "undo")
			return tx2.Create(&mcAudit{What: "kept"}).Error
		})
	}))
	assert.EqualValues(t, 2, count(evDB, &mcEvent{}), "the raw INSERT, not the undone one")
	assert.EqualValues(t, 2, count(evDB, &mcAudit{}))

	// A transaction that runs nothing commits and rolls back without a
	// server; Begin, Rollback and Commit on the handle too.
	require.NoError(t, db.Transaction(func(*gorm.DB) error { return nil }))
	tx := db.Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, tx.Rollback().Error)
	tx = db.Begin()
	require.NoError(t, tx.Commit().Error)
	assert.ErrorIs(t, tx.Commit().Error, sql.ErrTxDone, "as database/sql says of a second Commit")

	// The *sql.Tx used directly binds to the default cluster.
	tx = db.Begin()
	var port int
	require.NoError(t, tx.Statement.ConnPool.(*sql.Tx).QueryRowContext(ctx, "SELECT inet_server_port()").Scan(&port))
	assert.Equal(t, shared.Nodes()[0].Port(), port)
	require.NoError(t, tx.Rollback().Error)

	// ReadOnly: a read-only transaction on the first statement's cluster
	// (a replica), whose writes are refused.
	waitReplicated(t, events, events.Nodes()[0])
	require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
		var evs []mcEvent
		if err := tx.Find(&evs).Error; err != nil {
			return err
		}
		assert.Len(t, evs, 2)
		assert.ErrorIs(t, tx.Create(&mcAudit{What: "refused"}).Error, datalayer.ErrReadOnly)
		return nil
	}))

	// Isolation levels pgx refuses are refused at Begin, as without the plugin.
	assert.ErrorContains(t, db.Begin(&sql.TxOptions{Isolation: sql.LevelLinearizable}).Error, "unsupported isolation")

	// A PrepareStmt session, twice: its statement cache outlives a
	// transaction.
	ps := db.Session(&gorm.Session{PrepareStmt: true})
	for i := range 2 {
		require.NoError(t, ps.Transaction(func(tx *gorm.DB) error {
			var ev mcEvent
			if err := tx.First(&ev).Error; err != nil {
				return err
			}
			return tx.Create(&mcAudit{What: "prepared"}).Error
		}), "round %d", i)
	}
	assert.EqualValues(t, 4, count(evDB, &mcAudit{}))

	// A context that ends before the first statement ends it with the
	// context's error; nothing stays open on either cluster.
	cctx, cancel := context.WithCancel(ctx)
	tx = m.DB().WithContext(cctx).Begin()
	require.NoError(t, tx.Error)
	cancel()
	assert.ErrorIs(t, tx.Create(&mcEvent{Kind: "never"}).Error, context.Canceled)
	tx.Rollback()
	assert.EqualValues(t, 2, count(evDB, &mcEvent{}))

	for _, c := range []*gorm.DB{defDB, evDB} {
		var open int64
		require.NoError(t, c.Raw("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()").Scan(&open).Error)
		assert.Zero(t, open, "no transaction left open")
	}
}

// The failure paths of a lazily begun transaction: its cluster has no
// primary (the first statement waits failover_timeout, then ErrNoPrimary,
// and the other cluster's transactions go on), and a savepoint unknown to
// the server before the first statement (the server's own error).
func TestClustersLazyTransactionFailures(t *testing.T) {
	cfg, events, defDB, evDB := twoClusters(t, 0, "mc_events")
	require.NoError(t, defDB.AutoMigrate(&mcUser{}))
	require.NoError(t, evDB.AutoMigrate(&mcEvent{}))
	ev := cfg.Clusters["events"]
	ev.FailoverTimeout = time.Second
	cfg.Clusters["events"] = ev
	m := openManager(t, cfg)
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)

	// Plain GORM's answer to a ROLLBACK TO of a savepoint never taken.
	plainTx := defDB.WithContext(ctx).Begin()
	want := plainTx.Exec("ROLLBACK TO SAVEPOINT nope").Error
	plainTx.Rollback()
	require.Error(t, want)
	tx := db.Begin()
	assert.EqualError(t, tx.Exec("ROLLBACK TO SAVEPOINT nope").Error, want.Error())
	tx.Rollback()

	require.NoError(t, nodeOp(t, ctx, "stop the events primary", events.Nodes()[0].Stop))
	start := time.Now()
	err := db.Transaction(func(tx *gorm.DB) error {
		return tx.Create(&mcEvent{Kind: "no primary"}).Error
	})
	assert.ErrorIs(t, err, datalayer.ErrNoPrimary)
	assert.Less(t, time.Since(start), 10*time.Second, "within failover_timeout and a probe")
	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		return tx.Create(&mcUser{Name: "other cluster"}).Error
	}))
}
