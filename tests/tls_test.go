package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

type tlsRow struct {
	ID   int64
	Note string
}

// Over TLS pgx talks through a *tls.Conn, not the plugin's socket. The check
// that keeps a write out of a pooled connection whose server is gone must
// see through it: a write right after the server ended the session (57P01,
// then close) is retried on a new connection, never "outcome unknown".
func TestWriteAfterServerEndedSessionOverTLSIsRetried(t *testing.T) {
	c := startCluster(t, pgcluster.Options{TLS: true})
	ctx := testCtx(t)
	primary := c.Nodes()[0]
	m := newManager(t, c, func(cfg *datalayer.Config) {
		cfg.SSLMode = "require"
		cfg.PoolSize, cfg.MaxOverflow = 1, 0 // one connection: the one that goes stale
	})
	db := m.DB().WithContext(ctx)
	require.NoError(t, db.AutoMigrate(&tlsRow{}))

	var ssl bool
	require.NoError(t, db.Raw("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl).Error)
	require.True(t, ssl, "the write pool must use TLS")

	for i := range 5 {
		require.NoError(t, db.Create(&tlsRow{Note: "warm"}).Error)
		// End every client session but the probes' (pg_terminate_backend:
		// FATAL 57P01, then the server closes the socket).
		require.NoError(t, primary.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
			AND application_name <> 'unifieddb-health'`))
		time.Sleep(50 * time.Millisecond) // the FATAL and the FIN reach the client's kernel
		require.NoError(t, db.Create(&tlsRow{Note: "after"}).Error, "round %d", i)
	}
	var n int64
	require.NoError(t, db.Model(&tlsRow{}).Where("note = ?", "after").Count(&n).Error)
	require.EqualValues(t, 5, n, "each write ran exactly once")
}
