package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// A pool's statements: the cluster's *sql.DB of one node and pool kind,
// with the query path's rules (the wait bound, stale plans, prepared
// statements, what proves a statement unsent).

// poolConn takes one connection, waiting at most pl.Wait. Give it back with
// Put. Its errors say that nothing was sent (unsentError).
//
// The connection comes checked (drvConn.sendable): its caller sends on the
// *sql.Conn, where database/sql retries nothing, so one whose server closed
// it while it was idle is dropped here and another taken, as database/sql
// does for a statement on the *sql.DB (maxBadConnRetries, then a new one).
func poolConn(ctx context.Context, pl *cluster.Pool) (*sql.Conn, error) {
	for try := 1; ; try++ {
		c, err := pl.Conn(ctx)
		if err != nil {
			return nil, &unsentError{err}
		}
		if err = c.Raw(checkReused); err == nil {
			return c, nil
		}
		pl.Put(c) // closed already: database/sql closes a *sql.Conn on ErrBadConn
		if try == 3 || !errors.Is(err, driver.ErrBadConn) {
			return nil, &unsentError{err}
		}
	}
}

// checkReused runs the stale-socket check that the pool deferred, in
// sql.Conn.Raw; a func value made once, so Raw allocates no closure.
var checkReused = func(dc any) error {
	if d, ok := dc.(*drvConn); ok {
		_, err := d.sendable()
		return err
	}
	return nil
}

// poolExec runs a statement; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func poolExec(ctx context.Context, pl *cluster.Pool, prep bool, query string, args ...any) (sql.Result, error) {
	res, err := poolExecOnce(ctx, pl, prep, query, args...)
	if stalePlan(err) {
		res, err = poolExecOnce(ctx, pl, false, query, freshPlan(args)...)
	}
	return res, pl.Gone(err)
}

func poolExecOnce(ctx context.Context, pl *cluster.Pool, prep bool, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, &unsentError{err} // database/sql would not send it either
	}
	if !pl.Full() {
		st, err := poolStmt(ctx, pl, prep, query)
		if err != nil {
			return nil, beforeSend(err)
		}
		if st != nil {
			return st.ExecContext(ctx, args...)
		}
		return pl.DB.ExecContext(ctx, query, args...)
	}
	c, err := poolConn(ctx, pl)
	if err != nil {
		return nil, err
	}
	defer pl.Put(c)
	return c.ExecContext(ctx, query, args...)
}

// poolQuery runs a poolQuery; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func poolQuery(ctx context.Context, pl *cluster.Pool, prep bool, query string, args ...any) (*sql.Rows, error) {
	rows, err := poolQueryOnce(ctx, pl, prep, query, args...)
	if stalePlan(err) {
		rows, err = poolQueryOnce(ctx, pl, false, query, freshPlan(args)...)
	}
	return rows, pl.Gone(err)
}

func poolQueryOnce(ctx context.Context, pl *cluster.Pool, prep bool, query string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, &unsentError{err} // database/sql would not send it either
	}
	if !pl.Full() {
		// Counted until the rows are returned, not until they are closed:
		// database/sql gives no word of that (see held.go).
		st, err := poolStmt(ctx, pl, prep, query)
		if err != nil {
			return nil, beforeSend(err)
		}
		if st != nil {
			return st.QueryContext(ctx, args...)
		}
		return pl.DB.QueryContext(ctx, query, args...)
	}
	c, err := poolConn(ctx, pl)
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
func poolQueryRow(ctx context.Context, pl *cluster.Pool, prep bool, query string, args ...any) *sql.Row {
	row := poolQueryRowOnce(ctx, pl, prep, query, args...)
	if stalePlan(row.Err()) {
		row = poolQueryRowOnce(ctx, pl, false, query, freshPlan(args)...)
	}
	if err := row.Err(); err != nil && pl.Gone(err) != err {
		return errRow(ctx, pl.Gone(err))
	}
	return row
}

func poolQueryRowOnce(ctx context.Context, pl *cluster.Pool, prep bool, query string, args ...any) *sql.Row {
	if err := ctx.Err(); err != nil {
		return errRow(ctx, &unsentError{err})
	}
	if !pl.Full() {
		st, err := poolStmt(ctx, pl, prep, query)
		if err != nil {
			return errRow(ctx, beforeSend(err))
		}
		if st != nil {
			return st.QueryRowContext(ctx, args...)
		}
		return pl.DB.QueryRowContext(ctx, query, args...)
	}
	c, err := poolConn(ctx, pl)
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
func poolStmt(ctx context.Context, pl *cluster.Pool, prep bool, query string) (*sql.Stmt, error) {
	// Behind a transaction pooler a statement prepared on one server
	// connection is unknown on the next: run it unprepared.
	c := stmtsOf(pl)
	if !prep || c == nil || c.unprepared {
		return nil, nil
	}
	return c.get(ctx, pl.DB, query)
}

// poolBegin starts a transaction for st. The connection stays held until
// st.end (the driver connection calls it at COMMIT or ROLLBACK).
func poolBegin(ctx context.Context, pl *cluster.Pool, opts *sql.TxOptions, st *txState) (*sql.Tx, error) {
	st.pl, st.counted = pl, true
	if !pl.Full() {
		pl.Held.Add(1)
		tx, err := pl.DB.BeginTx(context.WithValue(ctx, txKey{}, st), opts)
		if err != nil {
			pl.Held.Add(-1)
		}
		return tx, pl.Gone(err)
	}
	c, err := poolConn(ctx, pl)
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

var _ gorm.ConnPool = (*sql.DB)(nil)
