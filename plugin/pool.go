package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// poolKind names the pools every node has. Only the pools a node's role
// needs ever open a connection: database/sql opens them lazily.
type poolKind uint8

const (
	poolWrite poolKind = iota // ordinary sessions: primary reads and writes
	poolRead                  // default_transaction_read_only=on: replica reads, ReadOnly mode
	poolBatch                 // Batch mode, on the primary
	poolTx                    // Transactional mode, on the primary

	poolKinds = iota
)

var poolNames = [poolKinds]string{"write", "read", "batch", "transactional"}

func (k poolKind) String() string { return poolNames[k] }

// pool is one *sql.DB to one node, plus the wait bound database/sql lacks:
// when every connection is in use, a caller waits at most wait, then gets
// ErrPoolTimeout instead of queueing forever.
type pool struct {
	db   *sql.DB
	node *node
	kind poolKind
	wait time.Duration
	max  int32        // the *sql.DB's MaxOpenConns; 0: no limit
	held atomic.Int32 // connections the plugin holds (see held.go)

	stmts stmtCache // for Session{PrepareStmt: true}
}

// conn takes one connection, waiting at most pl.wait. Give it back with put.
// Its errors say that nothing was sent (unsentError).
func (pl *pool) conn(ctx context.Context) (*sql.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, pl.wait)
	defer cancel()
	c, err := pl.db.Conn(wctx)
	if err == nil {
		pl.held.Add(1)
		return c, nil
	}
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = &PoolTimeoutError{Node: pl.node.name, Pool: pl.kind.String(), Wait: pl.wait, MaxOpen: int(pl.max)}
	}
	return nil, &unsentError{err}
}

// exec runs a statement; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func (pl *pool) exec(ctx context.Context, prep bool, query string, args ...any) (sql.Result, error) {
	res, err := pl.execOnce(ctx, prep, query, args...)
	if stalePlan(err) {
		res, err = pl.execOnce(ctx, false, query, freshPlan(args)...)
	}
	return res, pl.gone(err)
}

func (pl *pool) execOnce(ctx context.Context, prep bool, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, &unsentError{err} // database/sql would not send it either
	}
	if !pl.full() {
		pl.held.Add(1)
		defer pl.held.Add(-1)
		st, err := pl.stmt(ctx, prep, query)
		if err != nil {
			return nil, beforeSend(err)
		}
		if st != nil {
			return st.ExecContext(ctx, args...)
		}
		return pl.db.ExecContext(ctx, query, args...)
	}
	c, err := pl.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer pl.put(c)
	return c.ExecContext(ctx, query, args...)
}

// query runs a query; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func (pl *pool) query(ctx context.Context, prep bool, query string, args ...any) (*sql.Rows, error) {
	rows, err := pl.queryOnce(ctx, prep, query, args...)
	if stalePlan(err) {
		rows, err = pl.queryOnce(ctx, false, query, freshPlan(args)...)
	}
	return rows, pl.gone(err)
}

func (pl *pool) queryOnce(ctx context.Context, prep bool, query string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, &unsentError{err} // database/sql would not send it either
	}
	if !pl.full() {
		// Counted until the rows are returned, not until they are closed:
		// database/sql gives no word of that (see held.go).
		pl.held.Add(1)
		defer pl.held.Add(-1)
		st, err := pl.stmt(ctx, prep, query)
		if err != nil {
			return nil, beforeSend(err)
		}
		if st != nil {
			return st.QueryContext(ctx, args...)
		}
		return pl.db.QueryContext(ctx, query, args...)
	}
	c, err := pl.conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		pl.put(c)
		return nil, err
	}
	// sql.Conn.Close waits until rows are closed, then returns the connection.
	go pl.put(c)
	return rows, nil
}

// queryRow runs a single-row query. Errors it can know before the row is
// scanned (no free connection within pool_timeout, a failed send) are in
// the row's Err, so that the caller may retry them.
func (pl *pool) queryRow(ctx context.Context, prep bool, query string, args ...any) *sql.Row {
	row := pl.queryRowOnce(ctx, prep, query, args...)
	if stalePlan(row.Err()) {
		row = pl.queryRowOnce(ctx, false, query, freshPlan(args)...)
	}
	if err := row.Err(); err != nil && pl.gone(err) != err {
		return errRow(ctx, pl.gone(err))
	}
	return row
}

func (pl *pool) queryRowOnce(ctx context.Context, prep bool, query string, args ...any) *sql.Row {
	if err := ctx.Err(); err != nil {
		return errRow(ctx, &unsentError{err})
	}
	if !pl.full() {
		pl.held.Add(1)
		defer pl.held.Add(-1)
		st, err := pl.stmt(ctx, prep, query)
		if err != nil {
			return errRow(ctx, beforeSend(err))
		}
		if st != nil {
			return st.QueryRowContext(ctx, args...)
		}
		return pl.db.QueryRowContext(ctx, query, args...)
	}
	c, err := pl.conn(ctx)
	if err != nil {
		return errRow(ctx, err)
	}
	row := c.QueryRowContext(ctx, query, args...)
	// sql.Conn.Close waits until the row is scanned, then returns the connection.
	go pl.put(c)
	return row
}

// stmt returns the pool's prepared statement for query when prep is set,
// nil when it is not (or the cache is full, or a transaction pooler is in
// front: the query then runs unprepared).
func (pl *pool) stmt(ctx context.Context, prep bool, query string) (*sql.Stmt, error) {
	// Behind a transaction pooler a statement prepared on one server
	// connection is unknown on the next: run it unprepared.
	if !prep || pl.node.p.opts.TransactionPooling {
		return nil, nil
	}
	return pl.stmts.get(ctx, pl.db, query)
}

// begin starts a transaction for st. The connection stays held until
// st.end (the driver connection calls it at COMMIT or ROLLBACK).
func (pl *pool) begin(ctx context.Context, opts *sql.TxOptions, st *txState) (*sql.Tx, error) {
	st.pl, st.counted = pl, true
	if !pl.full() {
		pl.held.Add(1)
		tx, err := pl.db.BeginTx(context.WithValue(ctx, txKey{}, st), opts)
		if err != nil {
			pl.held.Add(-1)
		}
		return tx, pl.gone(err)
	}
	c, err := pl.conn(ctx)
	if err != nil {
		return nil, pl.gone(err)
	}
	st.conn = c
	tx, err := c.BeginTx(context.WithValue(ctx, txKey{}, st), opts)
	if err != nil {
		pl.put(c)
		return nil, err
	}
	return tx, nil
}

// gone turns the error of a pool that discovery removed and closed (a
// statement that picked the node from an older snapshot more than
// retireGrace ago) into one that proves nothing was sent, so the statement is
// retried on a node of the current snapshot.
func (pl *pool) gone(err error) error {
	if err == nil || !pl.node.retired.Load() || err.Error() != errDBClosed {
		return err
	}
	return fmt.Errorf("unifieddb: node %s was removed from the cluster: %w", pl.node.name, driver.ErrBadConn)
}

// errDBClosed is database/sql's (unexported) error for a closed *sql.DB.
const errDBClosed = "sql: database is closed"

var _ gorm.ConnPool = (*sql.DB)(nil)
