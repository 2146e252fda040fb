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

// PoolKind names the pools every node has. Only the pools a node's role
// needs ever open a connection: database/sql opens them lazily.
type PoolKind uint8

const (
	PoolWrite PoolKind = iota // ordinary sessions: primary reads and writes
	PoolRead                  // default_transaction_read_only=on: replica reads, ReadOnly mode
	PoolBatch                 // Batch mode, on the primary
	PoolTx                    // Transactional mode, on the primary

	PoolKinds = iota
)

var poolNames = [PoolKinds]string{"write", "read", "batch", "transactional"}

func (k PoolKind) String() string { return poolNames[k] }

// Pool is one *sql.DB to one node, plus the wait bound database/sql lacks:
// when every connection is in use, a caller waits at most wait, then gets
// ErrPoolTimeout instead of queueing forever.
type Pool struct {
	DB   *sql.DB
	Node *Node
	Kind PoolKind
	Wait time.Duration
	Max  int32        // the *sql.DB's MaxOpenConns; 0: no limit
	Held atomic.Int32 // connections the plugin holds (see held.go)

	stmts stmtCache // for Session{PrepareStmt: true}
}

// poolConn takes one connection, waiting at most pl.wait. Give it back with put.
// Its errors say that nothing was sent (unsentError).
func (pl *Pool) poolConn(ctx context.Context) (*sql.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, pl.Wait)
	defer cancel()
	c, err := pl.DB.Conn(wctx)
	if err == nil {
		pl.Held.Add(1)
		return c, nil
	}
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = &PoolTimeoutError{Node: pl.Node.Name, Pool: pl.Kind.String(), Wait: pl.Wait, MaxOpen: int(pl.Max)}
	}
	return nil, &unsentError{err}
}

// poolExec runs a statement; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func (pl *Pool) poolExec(ctx context.Context, prep bool, query string, args ...any) (sql.Result, error) {
	res, err := pl.poolExecOnce(ctx, prep, query, args...)
	if stalePlan(err) {
		res, err = pl.poolExecOnce(ctx, false, query, freshPlan(args)...)
	}
	return res, pl.Gone(err)
}

func (pl *Pool) poolExecOnce(ctx context.Context, prep bool, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, &unsentError{err} // database/sql would not send it either
	}
	if !pl.Full() {
		pl.Held.Add(1)
		defer pl.Held.Add(-1)
		st, err := pl.poolStmt(ctx, prep, query)
		if err != nil {
			return nil, beforeSend(err)
		}
		if st != nil {
			return st.ExecContext(ctx, args...)
		}
		return pl.DB.ExecContext(ctx, query, args...)
	}
	c, err := pl.poolConn(ctx)
	if err != nil {
		return nil, err
	}
	defer pl.Put(c)
	return c.ExecContext(ctx, query, args...)
}

// poolQuery runs a poolQuery; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func (pl *Pool) poolQuery(ctx context.Context, prep bool, query string, args ...any) (*sql.Rows, error) {
	rows, err := pl.poolQueryOnce(ctx, prep, query, args...)
	if stalePlan(err) {
		rows, err = pl.poolQueryOnce(ctx, false, query, freshPlan(args)...)
	}
	return rows, pl.Gone(err)
}

func (pl *Pool) poolQueryOnce(ctx context.Context, prep bool, query string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, &unsentError{err} // database/sql would not send it either
	}
	if !pl.Full() {
		// Counted until the rows are returned, not until they are closed:
		// database/sql gives no word of that (see held.go).
		pl.Held.Add(1)
		defer pl.Held.Add(-1)
		st, err := pl.poolStmt(ctx, prep, query)
		if err != nil {
			return nil, beforeSend(err)
		}
		if st != nil {
			return st.QueryContext(ctx, args...)
		}
		return pl.DB.QueryContext(ctx, query, args...)
	}
	c, err := pl.poolConn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		pl.Put(c)
		return nil, err
	}
	// sql.Conn.Close waits until rows are closed, then returns the connection.
	go pl.Put(c)
	return rows, nil
}

// poolQueryRow runs a single-row query. Errors it can know before the row is
// scanned (no free connection within pool_timeout, a failed send) are in
// the row's Err, so that the caller may retry them.
func (pl *Pool) poolQueryRow(ctx context.Context, prep bool, query string, args ...any) *sql.Row {
	row := pl.poolQueryRowOnce(ctx, prep, query, args...)
	if stalePlan(row.Err()) {
		row = pl.poolQueryRowOnce(ctx, false, query, freshPlan(args)...)
	}
	if err := row.Err(); err != nil && pl.Gone(err) != err {
		return errRow(ctx, pl.Gone(err))
	}
	return row
}

func (pl *Pool) poolQueryRowOnce(ctx context.Context, prep bool, query string, args ...any) *sql.Row {
	if err := ctx.Err(); err != nil {
		return errRow(ctx, &unsentError{err})
	}
	if !pl.Full() {
		pl.Held.Add(1)
		defer pl.Held.Add(-1)
		st, err := pl.poolStmt(ctx, prep, query)
		if err != nil {
			return errRow(ctx, beforeSend(err))
		}
		if st != nil {
			return st.QueryRowContext(ctx, args...)
		}
		return pl.DB.QueryRowContext(ctx, query, args...)
	}
	c, err := pl.poolConn(ctx)
	if err != nil {
		return errRow(ctx, err)
	}
	row := c.QueryRowContext(ctx, query, args...)
	// sql.Conn.Close waits until the row is scanned, then returns the connection.
	go pl.Put(c)
	return row
}

// poolStmt returns the pool's prepared statement for query when prep is set,
// nil when it is not (or the cache is full, or a transaction pooler is in
// front: the query then runs unprepared).
func (pl *Pool) poolStmt(ctx context.Context, prep bool, query string) (*sql.Stmt, error) {
	// Behind a transaction pooler a statement prepared on one server
	// connection is unknown on the next: run it unprepared.
	if !prep || pl.Node.p.opts.TransactionPooling {
		return nil, nil
	}
	return pl.stmts.get(ctx, pl.DB, query)
}

// poolBegin starts a transaction for st. The connection stays held until
// st.end (the driver connection calls it at COMMIT or ROLLBACK).
func (pl *Pool) poolBegin(ctx context.Context, opts *sql.TxOptions, st *txState) (*sql.Tx, error) {
	st.pl, st.counted = pl, true
	if !pl.Full() {
		pl.Held.Add(1)
		tx, err := pl.DB.BeginTx(context.WithValue(ctx, txKey{}, st), opts)
		if err != nil {
			pl.Held.Add(-1)
		}
		return tx, pl.Gone(err)
	}
	c, err := pl.poolConn(ctx)
	if err != nil {
		return nil, pl.Gone(err)
	}
	st.conn = c
	tx, err := c.BeginTx(context.WithValue(ctx, txKey{}, st), opts)
	if err != nil {
		pl.Put(c)
		return nil, err
	}
	return tx, nil
}

// Gone turns the error of a pool that discovery removed and closed (a
// statement that picked the node from an older snapshot more than
// retireGrace ago) into one that proves nothing was sent, so the statement is
// retried on a node of the current snapshot.
func (pl *Pool) Gone(err error) error {
	if err == nil || !pl.Node.retired.Load() || err.Error() != errDBClosed {
		return err
	}
	return fmt.Errorf("unifieddb: node %s was removed from the cluster: %w", pl.Node.Name, driver.ErrBadConn)
}

// errDBClosed is database/sql's (unexported) error for a closed *sql.DB.
const errDBClosed = "sql: database is closed"

var _ gorm.ConnPool = (*sql.DB)(nil)
