package plugin

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// txConn is a transaction on one node. Every statement of the transaction
// stays on its connection; errors are translated like the routes do.
type txConn struct {
	*sql.Tx
	ctx      context.Context // of BeginTx, for read-your-writes
	mode     Mode
	pool     *pool
	readOnly bool
	conn     *sql.Conn // the dedicated connection, if one was taken
	ended    bool      // the connection was given back
}

func (t *txConn) translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if isReadOnlyRefusal(err) {
		if t.readOnly {
			return newNodeError(t.pool, t.mode, op, fmt.Errorf("%w: %w", ErrReadOnly, err))
		}
		// A read-write transaction's node no longer takes writes (demoted,
		// or read-only for maintenance): nothing of it can commit, and the
		// next transaction must begin elsewhere.
		t.pool.node.p.report(t.pool.node, err)
		return newNodeError(t.pool, t.mode, op, &demotedError{err: err})
	}
	if connectionClass(err) {
		t.pool.node.p.report(t.pool.node, err)
	}
	return err
}

// ExecContext implements gorm.ConnPool.
func (t *txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	a := attempts{p: t.pool.node.p, mode: t.mode, query: query}
	a.begin(ctx)
	res, err := t.Tx.ExecContext(ctx, query, args...)
	a.ran(t.pool, a.p.rowsOf(res), err)
	err = t.translate(OpExec, err)
	a.end(ctx, err)
	return res, err
}

// QueryContext implements gorm.ConnPool.
func (t *txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	a := attempts{p: t.pool.node.p, mode: t.mode, query: query}
	a.begin(ctx)
	rows, err := t.Tx.QueryContext(ctx, query, args...)
	a.ran(t.pool, -1, err)
	err = t.translate(OpQuery, err)
	a.end(ctx, err)
	return rows, err
}

// Commit implements gorm.TxCommitter. A COMMIT sent and not answered (the
// connection lost, the context ended while it ran, say waiting for a
// synchronous standby) leaves the outcome unknown: the server may have
// committed. A context that ended before COMMIT was sent is known: database/sql
// rolled the transaction back (outcome.go).
func (t *txConn) Commit() error {
	ended := t.ctx.Err() // before: database/sql sends no COMMIT on a done context
	err := t.Tx.Commit()
	t.done()
	if err == nil && !t.readOnly {
		t.pool.node.p.wrote(t.ctx)
	}
	if err != nil && ended != nil {
		err = &unsentError{err}
	}
	if err != nil && !t.readOnly && outcomeUnknown(err) {
		if connectionClass(err) {
			t.pool.node.p.report(t.pool.node, err)
		}
		if t.ctx.Err() != nil {
			return newNodeError(t.pool, t.mode, OpCommit, fmt.Errorf("%w: the context ended during COMMIT: %w", ErrOutcomeUnknown, err))
		}
		return newNodeError(t.pool, t.mode, OpCommit, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err))
	}
	return t.translate(OpCommit, bare(err))
}

// Rollback implements gorm.TxCommitter.
func (t *txConn) Rollback() error {
	err := t.Tx.Rollback()
	t.done()
	return err
}

func (t *txConn) done() {
	if !t.ended {
		t.ended = true
		t.pool.end(t.conn)
	}
}

var _ gorm.Tx = (*txConn)(nil)

// isSavepoint reports whether query is one of the savepoint statements GORM's
// nested transactions send through the dialector (SAVEPOINT, ROLLBACK TO
// SAVEPOINT, RELEASE SAVEPOINT, each with a bare name). They change no data,
// and a read-only transaction accepts them. Only these exact forms pass:
// anything more is treated as the write it may be.
func isSavepoint(query string) bool {
	q := strings.ToUpper(strings.TrimSpace(query))
	for _, prefix := range []string{"SAVEPOINT ", "ROLLBACK TO SAVEPOINT ", "RELEASE SAVEPOINT "} {
		if name, ok := strings.CutPrefix(q, prefix); ok {
			return bareName(name)
		}
	}
	return false
}

// bareName reports whether s is a plain SQL identifier.
func bareName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
