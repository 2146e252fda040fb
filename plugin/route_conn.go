package plugin

import (
	"context"
	"database/sql"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// A route is a gorm.ConnPool: these methods adapt database/sql's calls to
// the route's decisions (route.go), each attempt a function of the pool
// chosen. They are the part of the query path that needs a server; the
// decisions have fast tests without one (routing_test.go).

// ExecContext implements gorm.ConnPool.
func (r *route) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = r.mark(ctx)
	var res sql.Result
	a := attempts{p: r.p, mode: r.mode, query: query}
	do := func(pl *cluster.Pool) (err error) {
		a.begin(ctx)
		res, err = poolExec(ctx, pl, r.prep, query, args...)
		a.ran(pl, r.p.rowsOf(res), err)
		return err
	}
	err := r.run(ctx, OpExec, do)
	a.end(ctx, err)
	return res, err
}

// QueryContext implements gorm.ConnPool. Errors after rows reached the
// caller are not retried.
func (r *route) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = r.mark(ctx)
	var rows *sql.Rows
	a := attempts{p: r.p, mode: r.mode, query: query}
	do := func(pl *cluster.Pool) (err error) {
		a.begin(ctx)
		if r.marks(pl) {
			var buf markArgs // zeroed only here: 128 bytes
			rows, err = poolQuery(ctx, pl, r.prep, query, markRead(&buf, args)...)
		} else {
			rows, err = poolQuery(ctx, pl, r.prep, query, args...)
		}
		a.ran(pl, -1, err)
		if err == nil {
			r.served(ctx, pl)
		}
		return err
	}
	err := r.run(ctx, OpQuery, do)
	a.end(ctx, err)
	if err == nil && !r.read {
		handedRows(ctx) // the statement was sent (outcome.go)
	}
	return rows, err
}

// QueryRowContext implements gorm.ConnPool. It routes like QueryContext
// (read-your-writes, retries, pool_timeout): a *sql.Row carries the error
// of its query, known before Scan, so a failed attempt can be retried. An
// error found after that (while the row is read) reaches Scan.
func (r *route) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = r.mark(ctx)
	var row *sql.Row
	a := attempts{p: r.p, mode: r.mode, query: query}
	do := func(pl *cluster.Pool) error {
		a.begin(ctx)
		if r.marks(pl) {
			var buf markArgs
			row = poolQueryRow(ctx, pl, r.prep, query, markRead(&buf, args)...)
		} else {
			row = poolQueryRow(ctx, pl, r.prep, query, args...)
		}
		err := row.Err()
		a.ran(pl, -1, err)
		if err == nil {
			r.served(ctx, pl)
		}
		return err
	}
	err := r.run(ctx, OpQuery, do)
	a.end(ctx, err)
	if err != nil {
		return errRow(ctx, err)
	}
	return row
}

// marks reports whether a query's arguments on pl are sent marked
// (markRead), so that the connection skips its stale-socket check: a read,
// which the route retries when it finds its connection dead, on a pool
// that has the check (read pools have none: see cluster's openNode).
func (r *route) marks(pl *cluster.Pool) bool {
	return r.read && pl.Kind != cluster.PoolRead
}

// PrepareContext implements gorm.ConnPool.
func (r *route) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	pl, err := r.pick(0)
	if err != nil {
		return nil, err
	}
	return pl.DB.PrepareContext(ctx, query)
}

// BeginTx implements gorm.ConnPoolBeginner. BEGIN has no effect, so a
// connection error while beginning is always retried. The transaction is a
// *sql.Tx, as with plain GORM.
func (r *route) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if r.replicas && r.mode != ReadOnly {
		// A handle whose last statement was a read still holds the read
		// route: a transaction of that mode begins where its writes go.
		r = r.s.entries[r.mode]
	}
	if r.mode == ReadOnly {
		ro := sql.TxOptions{ReadOnly: true}
		if opts != nil {
			ro.Isolation = opts.Isolation
		}
		opts = &ro
	}
	if r.lazy {
		return r.p.beginLazy(ctx, r.mode, opts)
	}
	var tx *sql.Tx
	begin := func(pl *cluster.Pool) (err error) {
		st := &txState{s: r.s, mode: r.mode, readOnly: r.mode == ReadOnly, ctx: ctx}
		if tx, err = poolBegin(ctx, pl, opts, st); err == nil {
			st.opened(tx)
		}
		return err
	}
	if err := r.tryBegin(ctx, begin); err != nil {
		return nil, err
	}
	// The *sql.Tx itself, as plain GORM has it: see tx.go.
	return tx, nil
}

// tryBegin runs begin on the route's pool: waiting for a node up to
// failover_timeout, and retried where it failed, since BEGIN has no effect.
func (r *route) tryBegin(ctx context.Context, begin func(*cluster.Pool) error) error {
	pl, err := r.pick(0)
	if err != nil {
		return r.noNode(ctx, OpBegin, err, begin)
	}
	if err = begin(pl); err != nil {
		return r.retryLoop(ctx, OpBegin, pl, err, true, begin)
	}
	return nil
}

// GetDBConn implements gorm.GetDBConnector: db.DB() is the primary's pool of
// this route's kind; in ReadOnly, a replica's read-only pool (so
// db.Connection pins a replica), the primary's as fallback.
func (r *route) GetDBConn() (*sql.DB, error) {
	if r.p.closed.Load() {
		return nil, ErrClosed
	}
	if r.mode == ReadOnly {
		// Read-only work (db.Connection too) belongs on a replica.
		pl, err := r.pick(0)
		if err != nil {
			return nil, err
		}
		return pl.DB, nil
	}
	t := r.s.c.Topology()
	if t.Primary == nil {
		return nil, ErrNoPrimary
	}
	return t.Primary.Pools[r.kind].DB, nil
}

var (
	_ gorm.ConnPool         = (*route)(nil)
	_ gorm.ConnPoolBeginner = (*route)(nil)
	_ gorm.GetDBConnector   = (*route)(nil)
)
