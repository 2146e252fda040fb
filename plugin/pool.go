package plugin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

	stmts stmtCache // for Session{PrepareStmt: true}
}

// full reports whether every connection the pool may open is in use, so a
// caller would queue. It is a hint (another caller may take the last free
// connection right after), good enough to bound waits on an exhausted pool
// while keeping the common path free of extra work.
func (pl *pool) full() bool {
	s := pl.db.Stats()
	return s.MaxOpenConnections > 0 && s.InUse >= s.MaxOpenConnections
}

// conn takes one connection, waiting at most pl.wait.
func (pl *pool) conn(ctx context.Context) (*sql.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, pl.wait)
	defer cancel()
	c, err := pl.db.Conn(wctx)
	if err == nil {
		return c, nil
	}
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, &PoolTimeoutError{Node: pl.node.name, Pool: pl.kind.String(), Wait: pl.wait, MaxOpen: pl.db.Stats().MaxOpenConnections}
	}
	return nil, err
}

// exec runs a statement; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func (pl *pool) exec(ctx context.Context, prep bool, query string, args ...any) (sql.Result, error) {
	res, err := pl.execOnce(ctx, prep, query, args...)
	if stalePlan(err) {
		return pl.execOnce(ctx, false, query, freshPlan(args)...)
	}
	return res, err
}

func (pl *pool) execOnce(ctx context.Context, prep bool, query string, args ...any) (sql.Result, error) {
	if !pl.full() {
		st, err := pl.stmt(ctx, prep, query)
		if err != nil {
			return nil, err
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
	defer c.Close()
	return c.ExecContext(ctx, query, args...)
}

// query runs a query; one refused for a stale cached plan runs once more
// with a fresh one (see stalePlan).
func (pl *pool) query(ctx context.Context, prep bool, query string, args ...any) (*sql.Rows, error) {
	rows, err := pl.queryOnce(ctx, prep, query, args...)
	if stalePlan(err) {
		return pl.queryOnce(ctx, false, query, freshPlan(args)...)
	}
	return rows, err
}

func (pl *pool) queryOnce(ctx context.Context, prep bool, query string, args ...any) (*sql.Rows, error) {
	if !pl.full() {
		st, err := pl.stmt(ctx, prep, query)
		if err != nil {
			return nil, err
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
		c.Close()
		return nil, err
	}
	// sql.Conn.Close waits until rows are closed, then returns the connection.
	go c.Close()
	return rows, nil
}

// queryRow runs a single-row query. Errors it can know before the row is
// scanned (no free connection within pool_timeout, a failed send) are in
// the row's Err, so that the caller may retry them.
func (pl *pool) queryRow(ctx context.Context, prep bool, query string, args ...any) *sql.Row {
	row := pl.queryRowOnce(ctx, prep, query, args...)
	if stalePlan(row.Err()) {
		return pl.queryRowOnce(ctx, false, query, freshPlan(args)...)
	}
	return row
}

func (pl *pool) queryRowOnce(ctx context.Context, prep bool, query string, args ...any) *sql.Row {
	if !pl.full() {
		st, err := pl.stmt(ctx, prep, query)
		if err != nil {
			return errRow(ctx, err)
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
	go c.Close()
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

// begin starts a transaction; release returns a dedicated connection (slow
// path) after Commit or Rollback.
func (pl *pool) begin(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, func(), error) {
	if !pl.full() {
		tx, err := pl.db.BeginTx(ctx, opts)
		return tx, nil, err
	}
	c, err := pl.conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err := c.BeginTx(ctx, opts)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return tx, func() { c.Close() }, nil
}

// PoolTimeoutError says which pool was exhausted. It wraps ErrPoolTimeout.
type PoolTimeoutError struct {
	Node    string
	Pool    string
	Wait    time.Duration
	MaxOpen int
}

func (e *PoolTimeoutError) Error() string {
	return fmt.Sprintf("%v: %s pool on %s, all %d connections busy for %s", ErrPoolTimeout, e.Pool, e.Node, e.MaxOpen, e.Wait)
}

func (e *PoolTimeoutError) Unwrap() error { return ErrPoolTimeout }

var _ gorm.ConnPool = (*sql.DB)(nil)
