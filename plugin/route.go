package plugin

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// opKind says what a statement may do, which decides where it may go and
// whether it may be retried.
type opKind uint8

const (
	opRead  opKind = iota // a model read: no side effects, may be retried elsewhere
	opWrite               // a write, raw SQL, or a locking read: primary, retried only when provably not run

	opKinds = iota
)

// route is a gorm.ConnPool that picks a node at call time. The callbacks put
// one route per (mode, op) on each statement; routes are built once, so
// routing allocates nothing.
type route struct {
	p        *Plugin
	mode     Mode
	kind     poolKind // the pool used on the primary
	replicas bool     // prefer replicas (their read pool)
	read     bool     // idempotent: a connection error may be retried on another node
	prep     bool     // run statements prepared, per pool (Session{PrepareStmt: true})
	roTx     bool     // run each statement in a read-only transaction (ReadOnly behind a pooler)
	prepared *route   // this route's twin with prep set
}

func newRoutes(p *Plugin) (routes [modeCount][opKinds]*route) {
	for m := Mode(0); m < modeCount; m++ {
		for op := opKind(0); op < opKinds; op++ {
			r := &route{p: p, mode: m, read: op == opRead}
			switch m {
			case Auto:
				r.kind, r.replicas = poolWrite, op == opRead
			case ReadOnly:
				// Read-only sessions everywhere: the server refuses writes too,
				// so every statement is safe to retry.
				r.kind, r.replicas, r.read = poolRead, true, true
				r.roTx = p.opts.TransactionPooling
			case ReadWrite:
				r.kind = poolWrite
			case Batch:
				r.kind = poolBatch
			case Transactional:
				r.kind = poolTx
			}
			twin := *r
			twin.prep = true
			r.prepared = &twin
			routes[m][op] = r
		}
	}
	return routes
}

// mark asks the driver for a read-only transaction per statement where the
// route needs one (see rotx.go).
func (r *route) mark(ctx context.Context) context.Context {
	if r.roTx {
		return withReadOnlyTx(ctx)
	}
	return ctx
}

// fresh reports whether reads of this route must see the context's writes.
func (r *route) fresh(ctx context.Context) *rywState {
	if r.mode != Auto || !r.replicas {
		return nil
	}
	return rywFrom(ctx)
}

// first picks the pool of a statement's first attempt.
func (r *route) first(ctx context.Context) (pl *pool, err error) {
	if st := r.fresh(ctx); st != nil {
		pl, err = r.pickFresh(ctx, st)
	} else {
		pl, err = r.pick(0)
	}
	if r.p.opts.Debug && err == nil {
		r.p.debug("unifieddb: routed", "mode", r.mode.String(), "node", pl.node.name, "pool", pl.kind.String())
	}
	return pl, err
}

// done records a successful write for read-your-writes contexts.
func (r *route) done(ctx context.Context) {
	if !r.read {
		wrote(ctx)
	}
}

// pick chooses the pool for the next attempt, skipping nodes in tried.
func (r *route) pick(tried nodeMask) (*pool, error) {
	if r.p.closed.Load() {
		return nil, ErrClosed
	}
	t := r.p.topo.Load()
	if r.replicas {
		if n := r.p.pickReplica(t, tried); n != nil {
			return n.pools[poolRead], nil
		}
		if !r.p.opts.FallbackToPrimary {
			return nil, ErrNoHealthyNode
		}
	}
	if t.primary == nil || tried.has(t.primary) {
		if r.replicas {
			return nil, ErrNoHealthyNode
		}
		return nil, ErrNoPrimary
	}
	return t.primary.pools[r.kind], nil
}

// ExecContext implements gorm.ConnPool.
func (r *route) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = r.mark(ctx)
	var res sql.Result
	a := attempts{p: r.p, mode: r.mode, query: query}
	do := func(pl *pool) (err error) {
		a.begin(ctx)
		res, err = pl.exec(ctx, r.prep, query, args...)
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
	do := func(pl *pool) (err error) {
		a.begin(ctx)
		rows, err = pl.query(ctx, r.prep, query, args...)
		a.ran(pl, -1, err)
		if err == nil {
			r.served(ctx, pl)
		}
		return err
	}
	err := r.run(ctx, OpQuery, do)
	a.end(ctx, err)
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
	do := func(pl *pool) error {
		a.begin(ctx)
		row = pl.queryRow(ctx, r.prep, query, args...)
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

// run runs do on the first pool, retried where that is safe, and records a
// successful write for read-your-writes contexts.
func (r *route) run(ctx context.Context, op string, do func(*pool) error) error {
	pl, err := r.first(ctx)
	if err != nil {
		err = r.noNode(ctx, op, err, do)
	} else if err = do(pl); err != nil {
		err = r.retryLoop(ctx, op, pl, err, r.read, do)
	}
	if err == nil {
		r.done(ctx)
	}
	return err
}

// PrepareContext implements gorm.ConnPool.
func (r *route) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	pl, err := r.pick(0)
	if err != nil {
		return nil, err
	}
	return pl.db.PrepareContext(ctx, query)
}

// BeginTx implements gorm.ConnPoolBeginner. BEGIN has no effect, so a
// connection error while beginning is always retried.
func (r *route) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if r.replicas && r.mode != ReadOnly {
		// A handle whose last statement was a read still holds the read
		// route: a transaction of that mode begins where its writes go.
		r = r.p.entries[r.mode]
	}
	if r.mode == ReadOnly {
		ro := sql.TxOptions{ReadOnly: true}
		if opts != nil {
			ro.Isolation = opts.Isolation
		}
		opts = &ro
	}
	var (
		tx   *sql.Tx
		conn *sql.Conn
		used *pool
	)
	begin := func(pl *pool) (err error) {
		tx, conn, err = pl.begin(ctx, opts)
		used = pl
		return err
	}
	pl, err := r.pick(0)
	if err != nil {
		err = r.noNode(ctx, OpBegin, err, begin)
	} else if err = begin(pl); err != nil {
		err = r.retryLoop(ctx, OpBegin, pl, err, true, begin)
	}
	if err != nil {
		return nil, err
	}
	return &txConn{Tx: tx, ctx: ctx, mode: r.mode, pool: used, readOnly: r.mode == ReadOnly || used.kind == poolRead, conn: conn}, nil
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
		return pl.db, nil
	}
	t := r.p.topo.Load()
	if t.primary == nil {
		return nil, ErrNoPrimary
	}
	return t.primary.pools[r.kind].db, nil
}

var (
	_ gorm.ConnPool         = (*route)(nil)
	_ gorm.ConnPoolBeginner = (*route)(nil)
	_ gorm.GetDBConnector   = (*route)(nil)
)
