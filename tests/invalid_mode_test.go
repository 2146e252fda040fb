package tests

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

// An invalid mode is an error on the statement (ErrInvalidMode), never a
// panic: through m.Conn, Clauses, a transaction, WithConn and Row.
func TestInvalidModeIsAnError(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	bad := datalayer.Mode(7)
	assert.Equal(t, "mode(7)", bad.String())
	var n int
	calls := map[string]func() error{
		"Conn":          func() error { return m.Conn(ctx, bad).Raw("SELECT 1").Scan(&n).Error },
		"Clauses":       func() error { return m.DB().WithContext(ctx).Clauses(bad).Raw("SELECT 1").Scan(&n).Error },
		"Clauses model": func() error { return m.DB().WithContext(ctx).Clauses(bad).Table("pg_class").Count(new(int64)).Error },
		"Clauses write": func() error { return m.DB().WithContext(ctx).Clauses(bad).Exec("SELECT 1").Error },
		"Row":           func() error { return m.DB().WithContext(ctx).Clauses(bad).Raw("SELECT 1").Row().Scan(&n) },
		"Transaction":   func() error { return m.Conn(ctx, bad).Transaction(func(*gorm.DB) error { return nil }) },
		"InMode":        func() error { return plugin.InMode(m.DB().WithContext(ctx), bad).Raw("SELECT 1").Scan(&n).Error },
		"WithConn":      func() error { return plugin.WithConn(ctx, m.DB().Clauses(bad), func(*sql.Conn) error { return nil }) },
		"in transaction": func() error {
			return inTx(ctx, m, func(tx *gorm.DB) error { return tx.Clauses(bad).Raw("SELECT 1").Scan(&n).Error })
		},
	}
	for what, call := range calls {
		var err error
		require.NotPanics(t, func() { err = call() }, what)
		assert.ErrorIs(t, err, datalayer.ErrInvalidMode, what)
	}
	_, err := datalayer.ParseMode("mode(7)")
	assert.Error(t, err)
}

func inTx(ctx context.Context, m *datalayer.Manager, fn func(tx *gorm.DB) error) error {
	return m.DB().WithContext(ctx).Transaction(fn)
}
