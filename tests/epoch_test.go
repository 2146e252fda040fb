package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// A write-pool connection that was in use while its node stopped and then
// resumed taking writes is not used for writes again: behind a proxy
// (HAProxy on Patroni's /primary) the node's address is the same but the
// server may not be, and such a connection can reach the old one. Here the
// node refuses a write (read-only for maintenance) and is writable again
// while one connection is held; the next write runs on a new connection.
func TestConnectionFromBeforeARoleChangeIsNotReused(t *testing.T) {
	c := startCluster(t, pgcluster.Options{})
	ctx := testCtx(t)
	primary := c.Nodes()[0]
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.FailoverTimeout = time.Second
		cfg.PoolSize, cfg.MaxOverflow = 1, 0 // one connection: the one held
	})
	rw := m.Conn(ctx, datalayer.ReadWrite)
	pidOf := func(db *gorm.DB) (pid int) {
		require.NoError(t, db.Raw("SELECT pg_backend_pid()").Scan(&pid).Error)
		return pid
	}
	waitPrimary := func(want bool) {
		require.Eventually(t, func() bool { return (m.Plugin().Status().Primary != "") == want },
			10*time.Second, 20*time.Millisecond, "primary known: %t", want)
	}
	db0 := c.Database()
	var held int
	require.NoError(t, rw.Connection(func(conn *gorm.DB) error {
		held = pidOf(conn)
		require.NoError(t, primary.Exec(ctx, "ALTER DATABASE "+db0+" SET default_transaction_read_only = on"))
		// A write on a new session (the Batch pool's) is refused with 25006:
		// the node is no longer writable.
		err := stmt(t, ctx, "a refused write", func(ctx context.Context) error {
			return m.Conn(ctx, datalayer.Batch).Exec("CREATE TABLE epoch_never (id int)").Error
		})
		require.ErrorIs(t, err, datalayer.ErrNoPrimary)
		waitPrimary(false)
		require.NoError(t, primary.Exec(ctx, "BEGIN READ WRITE; ALTER DATABASE "+db0+" RESET default_transaction_read_only; COMMIT"))
		waitPrimary(true)
		return nil
	}))
	require.NoError(t, stmt(t, ctx, "write after the role change", func(ctx context.Context) error {
		return rw.WithContext(ctx).Exec("SELECT 1").Error
	}))
	assert.NotEqual(t, held, pidOf(rw), "the held connection was dropped, not reused")
}
