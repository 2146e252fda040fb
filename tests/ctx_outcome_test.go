package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
)

type ctxRow struct {
	ID   int64
	Note string
}

// A write whose context ends while it runs may have run: ErrOutcomeUnknown
// (and the context's error, for errors.Is). One whose context ended before
// it was sent, and a read, keep the plain context error.
func TestWriteInterruptedByItsContextIsOutcomeUnknown(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	require.NoError(t, m.Conn(ctx, datalayer.Transactional).AutoMigrate(&ctxRow{}))
	t.Cleanup(func() { m.Conn(ctx, datalayer.Transactional).Exec("DROP TABLE ctx_rows") })

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := m.DB().WithContext(short).Exec("INSERT INTO ctx_rows (note) SELECT 'slow' FROM pg_sleep(2)").Error
	require.Error(t, err)
	assert.ErrorIs(t, err, datalayer.ErrOutcomeUnknown, "sent, then interrupted: it may have run")
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The same in a transaction's COMMIT is covered by the transaction: a
	// statement interrupted inside it leaves it uncommitted, a plain error.
	short2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	err = m.DB().WithContext(short2).Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO ctx_rows (note) SELECT 'tx' FROM pg_sleep(2)").Error
	})
	require.Error(t, err)
	assert.False(t, errors.Is(err, datalayer.ErrOutcomeUnknown), "not committed: a plain error: %v", err)

	done, cancel3 := context.WithCancel(ctx)
	cancel3()
	err = m.DB().WithContext(done).Create(&ctxRow{Note: "never"}).Error
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, datalayer.ErrOutcomeUnknown), "never sent: %v", err)

	short4, cancel4 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel4()
	var n int
	err = m.DB().WithContext(short4).Table("pg_sleep(2)").Select("1").Scan(&n).Error
	require.Error(t, err)
	assert.False(t, errors.Is(err, datalayer.ErrOutcomeUnknown), "a read has no outcome to lose: %v", err)
}
