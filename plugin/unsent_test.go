package plugin

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What fails before a write's statement goes out is not sent: preparing it
// (Session{PrepareStmt: true}) on a connection that breaks, or a context
// already done. The route retries such a write or returns its error bare,
// never ErrOutcomeUnknown.
func TestWriteFailingBeforeItIsSentIsNotUnknown(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{})
	broken := sql.OpenDB(failConnector{errReset}) // PREPARE's connection breaks
	t.Cleanup(func() { broken.Close() })
	pl := ns[0].Pools[cluster.PoolWrite]
	pl.DB = broken

	_, err := poolExec(context.Background(), pl, true, "INSERT INTO t VALUES (1)")
	require.Error(t, err)
	assert.False(t, sent(err), "prepare failed: %v", err)
	assert.ErrorIs(t, err, errReset)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	r := p.routes[Auto][opWrite]
	_, err = r.ExecContext(done, "INSERT INTO t VALUES (1)")
	assert.Equal(t, context.Canceled, err, "the context's error, bare, as database/sql gives it")
	rows, err := r.QueryContext(done, "INSERT INTO t VALUES (1) RETURNING id")
	assert.Nil(t, rows)
	assert.Equal(t, context.Canceled, err)
	assert.False(t, errors.Is(err, ErrOutcomeUnknown))
	assert.ErrorIs(t, r.QueryRowContext(done, "INSERT INTO t VALUES (1) RETURNING id").Err(), context.Canceled)
}
