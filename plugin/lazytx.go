package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// Lazy begin (issue 18): with several clusters, a transaction begun with no
// cluster clause (db.Transaction, m.Transaction, Begin on a handle that
// names no cluster) is pinned to the cluster of its first statement, as
// dbresolver users expect of db.Transaction(func(tx) { tx.Create(&order) }).
//
// GORM and library code need the transaction to be a *sql.Tx. So such a
// transaction is begun on a second, per-plugin *sql.DB whose driver
// connections (lazyConn) hold no server connection: BEGIN is sent when the
// first statement arrives, on a connection of the cluster the routing
// callback bound the transaction to (crossCluster), with the route's
// retries, failover wait and pool_timeout. From then on the lazyConn hands
// every statement, COMMIT and ROLLBACK to that connection's drvConn, whose
// bookkeeping (statement hooks, errors, read-your-writes, outcomes) is the
// same as for a transaction begun eagerly. Savepoints sent before the first
// statement are kept and sent after BEGIN; a transaction that ran nothing
// commits and rolls back without a round trip.
//
// With one cluster none of this exists: transactions begin as before.

// lazyIdle is how many idle lazyConns the virtual pool keeps. They hold no
// server connection; more only saves an allocation per transaction.
const lazyIdle = 64

// openLazy makes the plugin's virtual pool. Only with several clusters.
func (p *Plugin) openLazy() {
	p.lazyDB = sql.OpenDB(lazyConnector{p: p})
	p.lazyDB.SetMaxIdleConns(lazyIdle)
	p.lazyStmts = gorm.NewPreparedStmtDB(p.lazyDB, maxStmts, 0)
	for m := Mode(0); m < modeCount; m++ {
		r := *p.site.entries[m]
		r.lazy = true
		twin := r
		twin.prep = true
		r.prepared = &twin
		p.lazyEntries[m] = &r
	}
}

// entry is where a mode clause points a statement that names no cluster:
// the lazy entry with several clusters, the default cluster's otherwise.
func (p *Plugin) entry(m Mode) *route {
	if p.lazyEntries[m] != nil {
		return p.lazyEntries[m]
	}
	return p.site.entries[m]
}

// beginLazy begins a transaction that binds to its first statement's
// cluster. opts are the route's (read-only in ReadOnly).
func (p *Plugin) beginLazy(ctx context.Context, mode Mode, opts *sql.TxOptions) (*sql.Tx, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	st := &txState{mode: mode, readOnly: mode == ReadOnly || opts != nil && opts.ReadOnly, ctx: ctx, lazy: true}
	tx, err := p.lazyDB.BeginTx(context.WithValue(ctx, txKey{}, st), opts)
	if err != nil {
		return nil, err
	}
	st.opened(tx)
	return tx, nil
}

// lazyConnector makes lazyConns.
type lazyConnector struct{ p *Plugin }

func (c lazyConnector) Connect(context.Context) (driver.Conn, error) { return &lazyConn{p: c.p}, nil }
func (c lazyConnector) Driver() driver.Driver                        { return lazyDriver{} }

type lazyDriver struct{}

func (lazyDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("unifieddb: the lazy transaction pool opens no connection by name")
}

// lazyConn is one transaction at a time of the virtual pool. database/sql
// uses it from one goroutine at a time.
type lazyConn struct {
	p  *Plugin
	st *txState // the open transaction; nil outside one

	opts       driver.TxOptions
	savepoints []string // sent before BEGIN, in order

	// Once bound: the server connection, its driver connection and its
	// transaction.
	pl     *cluster.Pool
	conn   *sql.Conn
	dc     *drvConn
	dtx    driver.Tx
	cancel context.CancelFunc // of BEGIN's context, which pgx keeps for COMMIT
	stmts  []*lazyStmt
}

func (c *lazyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault, sql.LevelReadUncommitted, sql.LevelReadCommitted, sql.LevelRepeatableRead,
		sql.LevelSnapshot, sql.LevelSerializable:
	default:
		// pgx's own refusal, at Begin as without the plugin.
		return nil, fmt.Errorf("unsupported isolation: %v", opts.Isolation)
	}
	st, _ := ctx.Value(txKey{}).(*txState)
	if st == nil {
		// The virtual pool used directly, not through a route: bind to the
		// first statement anyway, in Auto.
		st = &txState{mode: Auto, ctx: ctx, lazy: true}
	}
	st.readOnly = st.readOnly || opts.ReadOnly
	c.st, c.opts, c.savepoints = st, opts, c.savepoints[:0]
	return lazyTx{c}, nil
}

func (c *lazyConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// bind begins the server transaction on the cluster the transaction is
// bound to (the default one when no routed statement bound it), then sends
// the savepoints kept so far. ctx is the statement's: waiting for a node or
// a connection ends with it.
func (c *lazyConn) bind(ctx context.Context) error {
	if c.dtx != nil {
		return nil
	}
	if c.st == nil {
		return errors.New("unifieddb: statement outside a transaction on the lazy transaction pool")
	}
	s := c.st.bound.Load()
	if s == nil {
		s = c.st.bind(&c.p.site)
	}
	begin := func(pl *cluster.Pool) error { return c.begin(ctx, s, pl) }
	if err := s.entries[c.st.mode].tryBegin(ctx, begin); err != nil {
		return err
	}
	for _, q := range c.savepoints {
		if _, err := c.dc.ExecContext(ctx, q, nil); err != nil {
			return err
		}
	}
	c.savepoints = c.savepoints[:0]
	return nil
}

// begin takes a connection of pl and sends BEGIN on it. The transaction
// lives in the context of BeginTx (pgx keeps it for COMMIT); BEGIN itself
// also ends with the statement's ctx.
func (c *lazyConn) begin(ctx context.Context, s *site, pl *cluster.Pool) error {
	conn, err := poolConn(ctx, pl)
	if err != nil {
		return pl.Gone(err)
	}
	var dc *drvConn
	_ = conn.Raw(func(x any) error { dc, _ = x.(*drvConn); return nil })
	if dc == nil {
		pl.Put(conn)
		return errors.New("unifieddb: a pool connection is not the plugin's")
	}
	inner := &txState{s: s, pl: pl, mode: c.st.mode, readOnly: c.st.readOnly, ctx: c.st.ctx}
	bctx, cancel := context.WithCancel(context.WithValue(c.st.ctx, txKey{}, inner))
	stop := context.AfterFunc(ctx, cancel)
	dtx, err := dc.BeginTx(bctx, c.opts)
	if !stop() && err == nil {
		// The statement's context ended as BEGIN returned and cancelled
		// BEGIN's, which pgx would COMMIT with.
		_ = dtx.Rollback()
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		pl.Put(conn)
		return err
	}
	c.pl, c.conn, c.dc, c.dtx, c.cancel = pl, conn, dc, dtx, cancel
	return nil
}

// keep reports whether query, sent before BEGIN, is a savepoint statement
// that can wait for it: SAVEPOINT, or a ROLLBACK TO or RELEASE of one kept.
// Anything else (a savepoint name the server does not know) is sent, so
// that the server's error is the one returned.
func (c *lazyConn) keep(query string) bool {
	if c.dtx != nil || c.st == nil || c.st.bound.Load() != nil || !isSavepoint(query) {
		return false
	}
	name := savepointName(query)
	if name.kind == "SAVEPOINT" {
		c.savepoints = append(c.savepoints, query)
		return true
	}
	for _, q := range c.savepoints {
		if savepointName(q) == (spName{kind: "SAVEPOINT", name: name.name}) {
			c.savepoints = append(c.savepoints, query)
			return true
		}
	}
	return false
}

func (c *lazyConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 && c.keep(query) {
		return driver.RowsAffected(0), nil
	}
	if err := c.bind(ctx); err != nil {
		return nil, err
	}
	return c.dc.ExecContext(ctx, query, args)
}

func (c *lazyConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.bind(ctx); err != nil {
		return nil, err
	}
	return c.dc.QueryContext(ctx, query, args)
}

func (c *lazyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.bind(ctx); err != nil {
		return nil, err
	}
	ds, err := c.dc.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &lazyStmt{Stmt: ds}
	c.stmts = append(c.stmts, s)
	return s, nil
}

func (c *lazyConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// CheckNamedValue passes every argument through unchanged, as pgx's own
// connection does: the server connection's driver converts them.
func (c *lazyConn) CheckNamedValue(*driver.NamedValue) error { return nil }

// Close: a lazyConn holds nothing of its own but the server transaction,
// which database/sql has ended before (with Commit or Rollback).
func (c *lazyConn) Close() error {
	if c.dtx != nil {
		_ = c.dtx.Rollback()
	}
	c.end()
	return nil
}

// end ends the transaction: the server connection goes back to its pool
// after the statements prepared in it are closed.
func (c *lazyConn) end() {
	st := c.st
	c.st = nil
	c.savepoints = c.savepoints[:0]
	if st != nil {
		st.end()
	}
	if c.dtx == nil {
		return
	}
	for _, s := range c.stmts {
		s.close()
	}
	clear(c.stmts)
	c.stmts = c.stmts[:0]
	c.cancel()
	c.pl.Put(c.conn)
	c.pl, c.conn, c.dc, c.dtx, c.cancel = nil, nil, nil, nil, nil
}

// lazyTx is the driver.Tx database/sql holds: COMMIT and ROLLBACK go to the
// server transaction, when there is one.
type lazyTx struct{ c *lazyConn }

func (t lazyTx) Commit() error {
	defer t.c.end()
	if t.c.dtx == nil {
		return nil // nothing was sent: nothing to commit
	}
	return t.c.dtx.Commit()
}

func (t lazyTx) Rollback() error {
	defer t.c.end()
	if t.c.dtx == nil {
		return nil
	}
	return t.c.dtx.Rollback()
}

// lazyStmt is a statement prepared on the server connection. The lazyConn
// closes it before the connection goes back to its pool, so database/sql's
// own Close, after COMMIT, must not reach that connection again.
type lazyStmt struct {
	driver.Stmt
	mu     sync.Mutex
	closed bool
}

func (s *lazyStmt) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		_ = s.Stmt.Close()
	}
}

func (s *lazyStmt) Close() error {
	s.close()
	return nil
}

func (s *lazyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if sc, ok := s.Stmt.(driver.StmtExecContext); ok {
		return sc.ExecContext(ctx, args)
	}
	return nil, driver.ErrSkip
}

func (s *lazyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if sc, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return sc.QueryContext(ctx, args)
	}
	return nil, driver.ErrSkip
}

var (
	_ driver.Connector          = lazyConnector{}
	_ driver.ConnBeginTx        = (*lazyConn)(nil)
	_ driver.ConnPrepareContext = (*lazyConn)(nil)
	_ driver.ExecerContext      = (*lazyConn)(nil)
	_ driver.QueryerContext     = (*lazyConn)(nil)
	_ driver.NamedValueChecker  = (*lazyConn)(nil)
	_ driver.StmtExecContext    = (*lazyStmt)(nil)
	_ driver.StmtQueryContext   = (*lazyStmt)(nil)
)
