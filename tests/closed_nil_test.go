package tests

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// After Close, every call that hands the user a value hands one that
// carries ErrClosed, as database/sql's closed DB does: never a nil *sql.Row
// or *sql.Rows that panics on use.
func TestClosedManagerRowsCarryErrClosed(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	tx := m.DB().WithContext(ctx).Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, m.Close())

	var n int
	for what, db := range map[string]*gorm.DB{"auto": m.DB().WithContext(ctx), "read_only": m.Conn(ctx, datalayer.ReadOnly)} {
		row := db.Raw("SELECT 1").Row()
		require.NotNil(t, row, "%s: Raw().Row()", what)
		assert.ErrorIs(t, row.Err(), datalayer.ErrClosed, what)
		assert.ErrorIs(t, row.Scan(&n), datalayer.ErrClosed, what)

		row = db.Table("pg_class").Select("1").Row()
		require.NotNil(t, row, "%s: Row()", what)
		assert.ErrorIs(t, row.Scan(&n), datalayer.ErrClosed, what)

		rows, err := db.Table("pg_class").Select("1").Rows()
		assert.ErrorIs(t, err, datalayer.ErrClosed, what)
		if rows != nil {
			rows.Close()
		}
		err = db.Raw("SELECT 1").Scan(&n).Error
		assert.ErrorIs(t, err, datalayer.ErrClosed, what)
	}
	// A transaction begun before Close: its statements fail with ErrClosed.
	row := tx.Raw("SELECT 1").Row()
	require.NotNil(t, row, "Row() in a transaction after Close")
	assert.ErrorIs(t, row.Scan(&n), datalayer.ErrClosed)
	_, err := tx.Raw("SELECT 1").Rows()
	assert.ErrorIs(t, err, datalayer.ErrClosed)
	assert.True(t, errors.Is(tx.Exec("SELECT 1").Error, datalayer.ErrClosed))
	tx.Rollback()
}
