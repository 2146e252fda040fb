package plugin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"gorm.io/gorm"
)

// writeOutcome turns an error met while a write's RETURNING rows were read
// into ErrOutcomeUnknown, and leaves everything else as it is: in
// particular a write whose rows never reached GORM (the route failed it,
// or GORM's BEGIN failed first) was decided before, or never sent.
func TestWriteOutcome(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	reset := &opError{syscall.ECONNRESET}
	write, read := &route{}, &route{read: true}
	cases := []struct {
		name    string
		pool    gorm.ConnPool
		ctx     context.Context
		rows    bool // the route handed rows to GORM
		err     error
		unknown bool
	}{
		{"reset while scanning a write's rows", write, context.Background(), true, reset, true},
		{"context ended while scanning a write's rows", write, ended, true, context.Canceled, true},
		{"context ended, no rows reached GORM (BEGIN failed, or the route failed it)", write, ended, false, context.Canceled, false},
		{"deadline before anything was sent", write, ended, false, context.DeadlineExceeded, false},
		{"reset with no rows handed: the route decided", write, context.Background(), false, reset, false},
		{"a server error", write, context.Background(), true, errors.New("ERROR: duplicate key (SQLSTATE 23505)"), false},
		{"already classified", write, context.Background(), true, ErrNoPrimary, false},
		{"a read", read, context.Background(), true, reset, false},
		{"in a transaction", &sql.Tx{}, context.Background(), true, reset, false},
		{"no error", write, context.Background(), true, nil, false},
	}
	p := &Plugin{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stmt := &gorm.Statement{ConnPool: c.pool, Context: c.ctx}
			startWrite(stmt)
			if c.rows {
				handedRows(stmt.Context)
			}
			db := &gorm.DB{Statement: stmt, Error: c.err}
			p.writeOutcome(db)
			assert.Equal(t, c.unknown, errors.Is(db.Error, ErrOutcomeUnknown), "%v", db.Error)
			if c.err != nil {
				assert.ErrorIs(t, db.Error, c.err, "the cause stays in the chain")
			}
		})
	}
}

// The outcome rule: unknown exactly when sent and the answer was lost.
func TestOutcomeRule(t *testing.T) {
	inFlightDeadline := fmt.Errorf("write: %w", &pgconn.PgError{Code: "57014"})
	cases := []struct {
		name          string
		err           error
		sent, unknown bool
	}{
		{"reset after sending", &opError{syscall.ECONNRESET}, true, true},
		{"admin shutdown", errShutdown, true, true},
		{"cancelled on the wire: pgx returns context.Canceled bare", context.Canceled, true, true},
		{"deadline on the wire: pgx wraps it", fmt.Errorf("timeout: %w", context.DeadlineExceeded), true, true},
		{"bare deadline: database/sql gave up before a connection ran it", context.DeadlineExceeded, false, false},
		{"the attempt says unsent: context done before the call", &unsentError{context.Canceled}, false, false},
		{"the attempt says unsent: no pooled connection", &unsentError{&PoolTimeoutError{}}, false, false},
		{"the driver proves it", errNotSent, false, false},
		{"no primary", fmt.Errorf("%w within 1s", ErrNoPrimary), false, false},
		{"closed", ErrClosed, false, false},
		{"a server's answer", errUnique, true, false},
		{"statement_timeout: the server answered", inFlightDeadline, true, false},
		{"ErrTxDone: database/sql rolled back", sql.ErrTxDone, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.sent, sent(c.err), "sent")
			assert.Equal(t, c.unknown, outcomeUnknown(c.err), "unknown")
		})
	}
	assert.False(t, sent(nil))
}

// beforeSend marks what is not a server's answer; bare takes the mark off.
func TestBeforeSend(t *testing.T) {
	assert.Nil(t, beforeSend(nil))
	assert.Equal(t, errUnique, beforeSend(errUnique), "a syntax error in PREPARE is the statement's error")
	for _, err := range []error{errReset, errShutdown, context.Canceled} {
		marked := beforeSend(err)
		assert.False(t, sent(marked), "%v", err)
		assert.ErrorIs(t, marked, err)
		assert.Equal(t, err, bare(marked))
	}
	assert.Equal(t, errReset, bare(errReset))
}

// connectionClass: the caller's context ending says nothing of the node,
// a failed connect does whatever its cause.
func TestConnectionClassLeavesTheContextOut(t *testing.T) {
	assert.False(t, cluster.ConnectionClass(context.DeadlineExceeded), "DeadlineExceeded satisfies net.Error")
	assert.False(t, cluster.ConnectionClass(context.Canceled))
	assert.False(t, cluster.ConnectionClass(fmt.Errorf("timeout: %w", context.DeadlineExceeded)))
	assert.True(t, cluster.ConnectionClass(&pgconn.ConnectError{}), "a failed connect")
	assert.True(t, cluster.ConnectionClass(errReset))
}

// opError stands in for the *net.OpError pgx returns.
type opError struct{ err error }

func (e *opError) Error() string { return "read tcp: " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }
