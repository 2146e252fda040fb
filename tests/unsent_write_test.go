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
)

// unsentRow is a model GORM writes in one statement (no hook: the plugin
// skips GORM's transaction); unsentHooked has a hook, so GORM opens its
// transaction and BEGIN comes first.
type unsentRow struct {
	ID   int64
	Note string
}

type unsentHooked struct {
	ID   int64
	Note string
}

func (*unsentHooked) BeforeCreate(*gorm.DB) error { return nil }
func (*unsentHooked) BeforeUpdate(*gorm.DB) error { return nil }
func (*unsentHooked) BeforeDelete(*gorm.DB) error { return nil }

// unsentWrites are the writes each case runs, on a row that exists.
var unsentWrites = map[string]func(db *gorm.DB) error{
	"create":        func(db *gorm.DB) error { return db.Create(&unsentRow{Note: "new"}).Error },
	"update":        func(db *gorm.DB) error { return db.Model(&unsentRow{ID: 1}).Update("note", "changed").Error },
	"delete":        func(db *gorm.DB) error { return db.Delete(&unsentRow{ID: 1}).Error },
	"hooked create": func(db *gorm.DB) error { return db.Create(&unsentHooked{Note: "new"}).Error },
	"hooked update": func(db *gorm.DB) error { return db.Model(&unsentHooked{ID: 1}).Update("note", "changed").Error },
	"hooked delete": func(db *gorm.DB) error { return db.Delete(&unsentHooked{ID: 1}).Error },
}

// unsentDB prepares both tables with one row each in database name.
func unsentDB(t *testing.T, db *gorm.DB) {
	t.Helper()
	require.NoError(t, db.AutoMigrate(&unsentRow{}, &unsentHooked{}))
	require.NoError(t, db.Exec("TRUNCATE unsent_rows, unsent_hookeds RESTART IDENTITY").Error)
	require.NoError(t, db.Exec("INSERT INTO unsent_rows (note) VALUES ('kept')").Error)
	require.NoError(t, db.Exec("INSERT INTO unsent_hookeds (note) VALUES ('kept')").Error)
}

// untouched requires that no write reached the tables.
func untouched(t *testing.T, db *gorm.DB) {
	t.Helper()
	for _, table := range []string{"unsent_rows", "unsent_hookeds"} {
		var rows []string
		require.NoError(t, db.Raw("SELECT id || ':' || note FROM "+table+" ORDER BY id").Scan(&rows).Error)
		assert.Equal(t, []string{"1:kept"}, rows, "table %s", table)
	}
}

// A write whose context was cancelled before it was called was never
// sent: the caller gets the context's error, as plain GORM returns it, never
// ErrOutcomeUnknown. With a hook, it is GORM's BEGIN that fails.
func TestUnsentWriteCancelledContextIsTheContextsError(t *testing.T) {
	ctx := testCtx(t)
	name := freshDatabase(t)
	plain := plainGORM(t, name)
	m := managerOn(t, name, nil)
	unsentDB(t, plain)
	done, cancel := context.WithCancel(ctx)
	cancel()
	for what, write := range unsentWrites {
		want := write(plain.WithContext(done))
		require.ErrorIs(t, want, context.Canceled, "plain GORM, %s", what)
		got := write(m.DB().WithContext(done))
		assert.ErrorIs(t, got, context.Canceled, what)
		assert.False(t, errors.Is(got, datalayer.ErrOutcomeUnknown), "%s was never sent: %v", what, got)
		if got != nil {
			assert.Equal(t, want.Error(), got.Error(), "%s: the error plain GORM gives", what)
		}
	}
	untouched(t, plain)
}

// A write whose deadline passed while it waited for a pooled connection
// was never sent: the deadline's error, as plain GORM gives it.
func TestUnsentWritePoolWaitDeadlineIsTheContextsError(t *testing.T) {
	ctx := testCtx(t)
	name := freshDatabase(t)
	plain := plainGORM(t, name)
	unsentDB(t, plain)
	sqlDB, err := plain.DB()
	require.NoError(t, err)
	sqlDB.SetMaxOpenConns(1)
	m := managerOn(t, name, func(c *datalayer.Config) {
		c.PoolSize, c.MaxOverflow, c.PoolTimeout = 1, 0, time.Minute
	})
	for what, write := range unsentWrites {
		for side, db := range map[string]*gorm.DB{"plain GORM": plain, "manager": m.DB()} {
			// The pool's only connection is held by a transaction.
			holder := db.WithContext(ctx).Begin()
			require.NoError(t, holder.Error, "%s: holding the only connection", side)
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err := write(db.WithContext(short))
			cancel()
			require.NoError(t, holder.Rollback().Error)
			assert.ErrorIs(t, err, context.DeadlineExceeded, "%s, %s", side, what)
			assert.False(t, errors.Is(err, datalayer.ErrOutcomeUnknown), "%s, %s was never sent: %v", side, what, err)
			if err != nil {
				assert.Equal(t, context.DeadlineExceeded.Error(), err.Error(), "%s, %s", side, what)
			}
		}
	}
	untouched(t, plain)
}

// A transaction whose deadline passes before COMMIT is sent was rolled back
// by database/sql: its outcome is known (not committed). The caller gets
// the error plain GORM gives (the deadline's, or sql.ErrTxDone when
// database/sql's own rollback came first: each run races them, so it runs
// many times), never ErrOutcomeUnknown.
func TestUnsentCommitAfterDeadlineIsKnown(t *testing.T) {
	ctx := testCtx(t)
	name := freshDatabase(t)
	plain := plainGORM(t, name)
	unsentDB(t, plain)
	m := managerOn(t, name, nil)
	sides := map[string]*gorm.DB{"plain GORM": plain, "manager": m.DB(), "manager, Transactional": m.Conn(ctx, datalayer.Transactional)}
	for side, db := range sides {
		seen := map[string]int{}
		for range 15 {
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err := db.WithContext(short).Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&unsentRow{Note: "late"}).Error; err != nil {
					return err
				}
				<-short.Done() // the deadline passes before COMMIT
				return nil
			})
			cancel()
			require.Error(t, err, side)
			seen[err.Error()]++
			assert.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrTxDone), "%s: %v", side, err)
			assert.False(t, errors.Is(err, datalayer.ErrOutcomeUnknown), "%s: rolled back before COMMIT: %v", side, err)
		}
		t.Logf("%s: %v", side, seen)
	}
	untouched(t, plain)
}
