package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
)

type planRow struct {
	ID   int64
	Name string
}

// A column added while statements are cached (a rolling deploy with
// migrations) makes the server refuse the cached plan with SQLSTATE 0A000
// ("cached plan must not change result type"). Nothing ran: the statement is
// re-run with a fresh plan, so the caller sees no error.
func TestColumnChangeDoesNotBreakCachedStatements(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, func(cfg *datalayer.Config) {
		cfg.PoolSize, cfg.MaxOverflow = 1, 0 // one connection, whose cache goes stale
	})
	rw := m.Conn(ctx, datalayer.ReadWrite)
	require.NoError(t, rw.AutoMigrate(&planRow{}))
	t.Cleanup(func() { m.Conn(ctx, datalayer.Transactional).Exec("DROP TABLE plan_rows") })
	require.NoError(t, rw.Create(&planRow{Name: "a"}).Error)

	read := func() error {
		var rows []planRow
		if err := rw.Where("id > ?", 0).Find(&rows).Error; err != nil {
			return err
		}
		var one planRow
		if err := rw.Where("id > ?", 0).Take(&one).Error; err != nil {
			return err
		}
		var n int64
		return rw.Raw("SELECT count(*) FROM (SELECT * FROM plan_rows WHERE id > ?) s", 0).Row().Scan(&n)
	}
	require.NoError(t, read())
	require.NoError(t, read()) // cached now

	require.NoError(t, m.Conn(ctx, datalayer.Transactional).Exec("ALTER TABLE plan_rows ADD COLUMN extra int").Error)
	require.NoError(t, read(), "a stale cached plan is re-run with a fresh one")
	require.NoError(t, read())
}
