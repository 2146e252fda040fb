package tests

import (
	"database/sql/driver"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

type staleRow struct {
	ID   int64
	Note string
}

// The stale-socket check of a reused write-pool connection runs before the
// first thing sent on it, not when the pool hands it out (issue 21), and a
// model read skips it. After the server ended the pool's only session
// (pg_terminate_backend: FATAL 57P01, then close), each use still works:
// a read runs again on a new connection, and no write, BEGIN or statement
// on the *sql.DB itself is sent into the dead socket (which would fail it,
// or make it ErrOutcomeUnknown).
func TestStaleConnectionAfterServerEndedSessionEachUseRetried(t *testing.T) {
	c := startCluster(t, pgcluster.Options{})
	ctx := testCtx(t)
	primary := c.Nodes()[0]
	m := newManager(t, c, func(cfg *datalayer.Config) {
		cfg.PoolSize, cfg.MaxOverflow = 1, 0 // one connection: the one that goes stale
	})
	db := m.DB().WithContext(ctx).Clauses(datalayer.ReadWrite).Session(&gorm.Session{})
	require.NoError(t, db.AutoMigrate(&staleRow{}))
	sqlDB, err := db.DB()
	require.NoError(t, err)

	end := func() {
		t.Helper()
		// Reuse the connection twice first: pgx pings one handed out again
		// after more than a second idle, and the first reuse after the
		// dial counts as such; the check under test is the one in between.
		for range 2 {
			require.NoError(t, db.Exec("SELECT 1").Error)
		}
		require.NoError(t, primary.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
			AND application_name <> 'unifieddb-health'`))
		time.Sleep(50 * time.Millisecond) // the FATAL and the FIN reach the client's kernel
	}
	uses := map[string]func() error{
		"read": func() error {
			var r staleRow
			return db.Order("id").First(&r).Error
		},
		"write": func() error { return db.Create(&staleRow{Note: "write"}).Error },
		"transaction": func() error {
			return db.Transaction(func(tx *gorm.DB) error { return tx.Create(&staleRow{Note: "tx"}).Error })
		},
		"sql.DB": func() error {
			_, err := sqlDB.ExecContext(ctx, "INSERT INTO stale_rows (note) VALUES ('sqldb')")
			return err
		},
	}
	require.NoError(t, db.Create(&staleRow{Note: "first"}).Error)
	for round := range 2 {
		for name, use := range uses {
			end()
			start := time.Now()
			require.NoError(t, use(), "%s after the session ended (round %d)", name, round)
			t.Logf("%s: %v", name, time.Since(start))
		}
	}
	var n int64
	require.NoError(t, db.Model(&staleRow{}).Where("note <> 'first' AND note <> 'pinned'").Count(&n).Error)
	require.EqualValues(t, 6, n, "each write ran exactly once")

	// A connection pinned with db.Connection is the caller's: database/sql
	// hands it out without the check, and its first statement finds the
	// socket dead before sending: driver.ErrBadConn, never sent, never
	// ErrOutcomeUnknown.
	end()
	err = db.Connection(func(tx *gorm.DB) error { return tx.Create(&staleRow{Note: "pinned"}).Error })
	require.ErrorIs(t, err, driver.ErrBadConn)
	require.NotErrorIs(t, err, datalayer.ErrOutcomeUnknown)
	require.NoError(t, db.Model(&staleRow{}).Where("note = 'pinned'").Count(&n).Error)
	require.Zero(t, n, "the pinned write was not sent")
	require.NoError(t, db.Connection(func(tx *gorm.DB) error { return tx.Create(&staleRow{Note: "pinned"}).Error }),
		"the next pin gets a live connection")
}
