package tests

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// leakRow keeps the context its AfterFind hook saw.
type leakRow struct {
	ID   int64
	Note string
}

var leakCtx context.Context

func (r *leakRow) AfterFind(tx *gorm.DB) error {
	leakCtx = tx.Statement.Context
	return nil
}

// A mode set inside a transaction or on a pinned connection stays there: a
// new handle made from the hook's tx.Statement.Context starts in its own
// mode (docs/gorm-differences.md), so an Auto write made from it is not
// refused as ReadOnly.
func TestModeInsideTxDoesNotLeakThroughContext(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	admin := m.Conn(ctx, datalayer.Transactional)
	require.NoError(t, admin.AutoMigrate(&leakRow{}))
	t.Cleanup(func() { admin.Exec("DROP TABLE leak_rows") })
	require.NoError(t, admin.Create(&leakRow{Note: "one"}).Error)

	inside := map[string]func(fn func(tx *gorm.DB) error) error{
		"transaction": func(fn func(tx *gorm.DB) error) error { return m.DB().WithContext(ctx).Transaction(fn) },
		"connection":  func(fn func(tx *gorm.DB) error) error { return m.Conn(ctx, datalayer.ReadWrite).Connection(fn) },
	}
	for what, run := range inside {
		leakCtx = nil
		require.NoError(t, run(func(tx *gorm.DB) error {
			var rows []leakRow
			return tx.Clauses(datalayer.ReadOnly).Find(&rows).Error
		}), what)
		require.NotNil(t, leakCtx, what)
		err := m.DB().WithContext(leakCtx).Create(&leakRow{Note: "after " + what}).Error
		assert.NoError(t, err, "%s: a new Auto handle from the hook's context writes", what)
	}
}
