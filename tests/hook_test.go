package tests

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/plugin"
)

// hookRecorder is a statement hook keeping what it saw.
type hookRecorder struct {
	mu   sync.Mutex
	seen []plugin.Statement
}

func (h *hookRecorder) Statement(_ context.Context, s plugin.Statement) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, s)
}

// take returns what the hook saw since the last take.
func (h *hookRecorder) take() []plugin.Statement {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := h.seen
	h.seen = nil
	return seen
}

// only returns the one statement seen since the last take.
func (h *hookRecorder) only(t *testing.T) plugin.Statement {
	t.Helper()
	seen := h.take()
	require.Len(t, seen, 1, "one statement, one attempt: %+v", seen)
	return seen[0]
}

func TestStatementHookSeesEveryStatement(t *testing.T) {
	ctx := testCtx(t)
	rec := &hookRecorder{}
	var m *datalayer.Manager
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, testenv.Config(shared), datalayer.WithStatementHook(rec))
		return err
	}))
	defer m.Close()
	primary := shared.Node("primary").Addr()
	rw := m.Conn(ctx, datalayer.ReadWrite)
	require.NoError(t, rw.Exec("CREATE TABLE IF NOT EXISTS hook_rows (id int)").Error)
	t.Cleanup(func() {
		assert.NoError(t, shared.Node("primary").Exec(context.Background(), "DROP TABLE IF EXISTS hook_rows"))
	})
	rec.take()

	// A read on a replica: its node, pool, mode and SQL, never its arguments.
	var one int
	require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Raw("SELECT 1 WHERE ? <> ''", "secret-arg").Scan(&one).Error)
	s := rec.only(t)
	assert.Equal(t, datalayer.ReadOnly, s.Mode)
	assert.NotEqual(t, primary, s.Node, "a replica served it")
	assert.Equal(t, "read", s.Pool)
	assert.Equal(t, "SELECT", s.Operation())
	assert.Contains(t, s.Query, "SELECT 1")
	assert.NotContains(t, s.Query, "secret-arg")
	assert.False(t, s.Start.IsZero())
	assert.Positive(t, s.Duration)
	assert.EqualValues(t, -1, s.Rows, "a query's rows are read after the hook")
	assert.NoError(t, s.Err)
	assert.Equal(t, 1, s.Attempt)
	assert.True(t, s.Last)
	assert.True(t, s.OutcomeKnown)

	// A write: the primary, and the rows it changed.
	require.NoError(t, rw.Exec("INSERT INTO hook_rows SELECT generate_series(1, 3)").Error)
	s = rec.only(t)
	assert.Equal(t, datalayer.ReadWrite, s.Mode)
	assert.Equal(t, primary, s.Node)
	assert.Equal(t, "write", s.Pool)
	assert.Equal(t, "INSERT", s.Operation())
	assert.EqualValues(t, 3, s.Rows)

	// A failed statement: its error, outcome known.
	require.Error(t, rw.Exec("SELECT * FROM hook_no_such_table").Error)
	s = rec.only(t)
	assert.Equal(t, "42P01", plugin.SQLState(s.Err))
	assert.True(t, s.Last)
	assert.True(t, s.OutcomeKnown)

	// A write whose session ends while it runs: outcome unknown, not retried.
	err := rw.Exec("SELECT pg_terminate_backend(pg_backend_pid())").Error
	require.ErrorIs(t, err, datalayer.ErrOutcomeUnknown)
	s = rec.only(t)
	assert.ErrorIs(t, s.Err, datalayer.ErrOutcomeUnknown, "the hook sees the error the call returns")
	assert.Equal(t, primary, s.Node)
	assert.Equal(t, 1, s.Attempt)
	assert.True(t, s.Last)
	assert.False(t, s.OutcomeKnown)
	assert.NotContains(t, s.Err.Error(), shared.Password())

	// Statements in a transaction are seen too, with the transaction's mode.
	require.NoError(t, m.Transaction(ctx, func(tx *gorm.DB) error {
		return tx.Exec("UPDATE hook_rows SET id = id + 1").Error
	}))
	var inTx []plugin.Statement
	for _, s := range rec.take() {
		if strings.HasPrefix(s.Query, "UPDATE") {
			inTx = append(inTx, s)
		}
	}
	require.Len(t, inTx, 1)
	assert.Equal(t, datalayer.Transactional, inTx[0].Mode)
	assert.Equal(t, "transactional", inTx[0].Pool)
	assert.EqualValues(t, 3, inTx[0].Rows)
}
