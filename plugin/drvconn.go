package plugin

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// Inside a transaction and on a pinned connection (db.Connection) GORM hands
// user code what plain GORM hands it, a *sql.Tx or a *sql.Conn, so that
// library code that checks Statement.ConnPool.(*sql.Tx) works. Their
// statements still need the plugin's bookkeeping (statement hooks, errors
// translated, read-your-writes recorded): it is done here, one level lower,
// on the driver connection every pool is made of, which sees every
// statement, BEGIN, COMMIT and ROLLBACK whatever database/sql type runs it.
// Routed statements pass through: the route did their bookkeeping.

// connector opens the driver connections of one pool.
type connector struct {
	driver.Connector
	pl *cluster.Pool
	p  *Plugin
	s  *site // the pool's cluster
	ro bool  // TransactionPooling of the pool's cluster (see rotx.go)
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		dc.Close()
		return nil, errors.New("unifieddb: the pgx driver returned an unexpected connection type")
	}
	c.pl.Open.Add(1)
	return &drvConn{roConn: roConn{Conn: sc, ro: c.ro}, pl: c.pl, p: c.p, s: c.s,
		reuse: cluster.ReusedOf(sc.Conn().PgConn().Conn())}, nil
}

// drvConn is one pgx connection of a pool. database/sql uses a driver
// connection from one goroutine at a time, so its fields need no lock.
type drvConn struct {
	roConn
	pl *cluster.Pool
	p  *Plugin
	s  *site // the pool's cluster; nil for a pool made otherwise (tests)
	// tx is the transaction open on the connection (see txState), nil
	// outside one.
	tx *txState
	// pinned: the connection was taken out of the pool by db.Connection
	// (see pin); its statements carry a pinMark. Cleared when database/sql
	// hands it out again.
	pinned bool
	// reuse is the stale-socket check the pool deferred to the first
	// thing sent after it handed the connection out (see sendable).
	reuse cluster.Reused
	// read: the statement's arguments carried readMark (see markRead).
	read bool
}

// readMark, appended to a routed model read's arguments (markRead), tells
// the connection that the statement is retried on another connection when
// this one turns out dead: it needs no stale-socket check. database/sql
// hands it to CheckNamedValue, which removes it before the driver sees the
// arguments. A pointer to a package variable: putting it in an any
// allocates nothing, and it equals nothing a caller could pass.
var readMark = &struct{ _ byte }{}

// markArgs is the room markRead uses on its caller's stack: a model read
// with more arguments goes unmarked (checked), rather than allocate.
type markArgs [8]any

// markRead returns args with readMark appended, in buf; args itself when it
// does not fit. database/sql does not keep its args slice (only the values
// in it), so buf stays on the caller's stack: +0 allocations.
func markRead(buf *markArgs, args []any) []any {
	if len(args) >= len(buf) {
		return args
	}
	n := copy(buf[:], args)
	buf[n] = readMark
	return buf[:n+1]
}

// CheckNamedValue takes readMark out of the arguments; pgx takes every
// other value as it is (stdlib.Conn's CheckNamedValue).
func (c *drvConn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Value == any(readMark) {
		c.read = true
		return driver.ErrRemoveArgument
	}
	return c.roConn.Conn.CheckNamedValue(nv)
}

// sendable runs the stale-socket check that the pool deferred when it
// handed the connection out (cluster.Options.DeferDeadCheck), before the
// first thing is sent on it: BEGIN, a statement, a Parse. A connection whose
// server is gone gives driver.ErrBadConn, with nothing sent: database/sql
// then runs the call on another connection (its retry of ErrBadConn; on a
// *sql.Conn or *sql.Tx the caller gets it, unsent, never ErrOutcomeUnknown).
// A routed model read skips the check, and its system call (issue 21):
// skipped says so, and lostRead then does the check only if the read fails.
// Every statement calls it; the work (checkDue) is only on the first one
// after the pool handed the connection out.
func (c *drvConn) sendable() (skipped bool, err error) {
	if c.reuse.Due() {
		return c.checkDue()
	}
	// A read flag left set here is cleared by ResetSession, which also
	// makes the check due: it never outlives the connection's hand-out.
	return false, nil
}

func (c *drvConn) checkDue() (skipped bool, err error) {
	read := c.read
	c.read = false
	if !c.reuse.Take() {
		return false, nil
	}
	if read {
		return true, nil
	}
	if c.reuse.Dead() {
		return false, driver.ErrBadConn
	}
	return false, nil
}

// lostRead turns the failure of a model read that skipped the stale-socket
// check (the callers test skipped and err first: no call per statement)
// into driver.ErrBadConn when the socket is dead, as the check would have:
// database/sql then runs the read at once on another connection
// (a read may run twice), where the route's own retry would report the
// node and wait for it (retry.go) for a connection the server had simply
// closed while it was idle in the pool (pg_terminate_backend,
// idle_session_timeout, a restart).
func (c *drvConn) lostRead(err error) error {
	if c.reuse.Dead() {
		return driver.ErrBadConn
	}
	return err
}

// Conn is pgx's connection, as *stdlib.Conn's Conn method gives it: code
// that reaches pgx through sql.Conn.Raw (COPY) finds it by this method.
// Such code may write (COPY): the deferred stale-socket check runs first,
// and a dead connection is closed, so that what it sends fails unsent (pgx:
// "conn closed", safe to retry) and database/sql drops the connection.
func (c *drvConn) Conn() *pgx.Conn {
	pc := c.roConn.Conn.Conn()
	if _, err := c.sendable(); err != nil {
		pc.PgConn().Close(context.Background()) // the socket is dead: nothing waits
	}
	return pc
}

// pinKey carries a pinMark in a pinned statement's context.
type pinKey struct{}

// pinMark is what the routing callback knows of a statement on a pinned
// connection: its mode, and whether it may write.
type pinMark struct {
	mode  Mode
	write bool
}

// watched is the bookkeeping of one statement the plugin did not route.
type watched struct {
	mode  Mode
	tx    *txState // the statement's transaction; nil on a pinned connection
	write bool     // a pinned statement that may write: recorded for read-your-writes
}

// watch reports whether a statement with ctx needs bookkeeping here: it
// runs in a transaction, or on a pinned connection. A routed statement, or
// one the caller runs on the *sql.Conn directly, does not.
func (c *drvConn) watch(ctx context.Context) (watched, bool) {
	if c.tx != nil {
		return watched{mode: c.tx.mode, tx: c.tx}, true
	}
	if !c.pinned {
		return watched{}, false
	}
	m, ok := ctx.Value(pinKey{}).(pinMark)
	return watched{mode: m.mode, write: m.write}, ok
}

// run runs one watched statement: reported to the statement hooks, its
// error translated, a pinned write recorded for read-your-writes.
func (c *drvConn) run(ctx context.Context, w watched, op, query string, do func() (rows int64, err error)) error {
	a := attempts{p: c.p, mode: w.mode, query: query}
	a.begin(ctx)
	ended := ctx.Err() != nil // then the driver sends nothing (outcome.go)
	rows, err := do()
	a.ran(c.pl, rows, err)
	if w.tx != nil {
		err = w.tx.translate(op, err)
	} else {
		if err != nil && ended {
			err = &unsentError{err}
		}
		err = pinnedError(ctx, c.pl, w, op, err)
	}
	if err == nil && w.write && c.pl.Kind != cluster.PoolRead {
		wrote(ctx, c.s)
	}
	a.end(ctx, err)
	return err
}

func (c *drvConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if _, err := c.sendable(); err != nil {
		return nil, err
	}
	w, ok := c.watch(ctx)
	if !ok {
		return c.roConn.ExecContext(ctx, query, args)
	}
	var res driver.Result
	err := c.run(ctx, w, OpExec, query, func() (int64, error) {
		var err error
		res, err = c.roConn.Conn.ExecContext(ctx, query, args)
		return c.p.rowsOf(res), err
	})
	return res, err
}

func (c *drvConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	skipped, err := c.sendable()
	if err != nil {
		return nil, err
	}
	w, ok := c.watch(ctx)
	if !ok {
		rows, err := c.roConn.QueryContext(ctx, query, args)
		if skipped && err != nil {
			err = c.lostRead(err)
		}
		return rows, err
	}
	var rows driver.Rows
	err = c.run(ctx, w, OpQuery, query, func() (int64, error) {
		var err error
		rows, err = c.roConn.Conn.QueryContext(ctx, query, args)
		return -1, err
	})
	return rows, err
}

// PrepareContext: GORM's PrepareStmt sessions run a transaction's
// statements prepared (*gorm.PreparedStmtTX); they get the same bookkeeping.
func (c *drvConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if _, err := c.sendable(); err != nil {
		return nil, err
	}
	st, err := c.roConn.Conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &drvStmt{Stmt: st, c: c, query: query}, nil
}

// BeginTx starts a transaction: one begun by a route carries its txState in
// ctx; one begun otherwise (GORM's Begin on a pinned connection, the
// *sql.DB used directly) gets one here.
func (c *drvConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if _, err := c.sendable(); err != nil {
		return nil, err
	}
	tx, err := c.roConn.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	st, _ := ctx.Value(txKey{}).(*txState)
	if st == nil {
		st = &txState{mode: kindMode(c.pl.Kind), ctx: ctx}
		if m, ok := ctx.Value(pinKey{}).(pinMark); ok && c.pinned {
			st.mode = m.mode
		}
	}
	st.pl = c.pl
	if st.s == nil {
		st.s = c.s
	}
	st.readOnly = st.readOnly || opts.ReadOnly || c.pl.Kind == cluster.PoolRead
	c.tx = st
	return &drvTx{Tx: tx, c: c}, nil
}

// Close: database/sql closes a connection once; the pool counts it gone
// (see cluster's held.go).
func (c *drvConn) Close() error {
	c.pl.Open.Add(-1)
	return c.roConn.Conn.Close()
}

// ResetSession: database/sql hands the connection out again.
func (c *drvConn) ResetSession(ctx context.Context) error {
	c.pinned, c.tx, c.read = false, nil, false
	return c.roConn.Conn.ResetSession(ctx)
}

// kindMode is the mode a pool serves, for a transaction the plugin did not
// begin itself.
func kindMode(k cluster.PoolKind) Mode {
	switch k {
	case cluster.PoolRead:
		return ReadOnly
	case cluster.PoolBatch:
		return Batch
	case cluster.PoolTx:
		return Transactional
	}
	return Auto
}

// drvTx ends the connection's transaction state with the transaction.
type drvTx struct {
	driver.Tx
	c *drvConn
}

func (t *drvTx) Commit() error {
	st := t.c.tx
	t.c.tx = nil
	err := t.Tx.Commit()
	if st == nil {
		return err
	}
	return st.committed(err)
}

func (t *drvTx) Rollback() error {
	st := t.c.tx
	t.c.tx = nil
	err := t.Tx.Rollback()
	if st != nil {
		st.end()
	}
	return err
}

// drvStmt is a statement prepared on a drvConn.
type drvStmt struct {
	driver.Stmt
	c     *drvConn
	query string
}

func (s *drvStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	sc, ok := s.Stmt.(driver.StmtExecContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if _, err := s.c.sendable(); err != nil {
		return nil, err
	}
	w, watch := s.c.watch(ctx)
	if !watch {
		return sc.ExecContext(ctx, args)
	}
	var res driver.Result
	err := s.c.run(ctx, w, OpExec, s.query, func() (int64, error) {
		var err error
		res, err = sc.ExecContext(ctx, args)
		return s.c.p.rowsOf(res), err
	})
	return res, err
}

func (s *drvStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	sc, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	skipped, err := s.c.sendable()
	if err != nil {
		return nil, err
	}
	w, watch := s.c.watch(ctx)
	if !watch {
		rows, err := sc.QueryContext(ctx, args)
		if skipped && err != nil {
			err = s.c.lostRead(err)
		}
		return rows, err
	}
	var rows driver.Rows
	err = s.c.run(ctx, w, OpQuery, s.query, func() (int64, error) {
		var err error
		rows, err = sc.QueryContext(ctx, args)
		return -1, err
	})
	return rows, err
}

// pinnedError translates the error of a statement on a pinned connection as
// a route would, without its retries: the caller chose the connection.
func pinnedError(ctx context.Context, pl *cluster.Pool, w watched, op string, err error) error {
	if err == nil {
		return nil
	}
	if cluster.ReadOnlyRefusal(err) {
		if pl.Kind == cluster.PoolRead || w.mode == ReadOnly {
			return newNodeError(pl, w.mode, op, fmt.Errorf("%w: %w", ErrReadOnly, err))
		}
		// The primary the connection was pinned on no longer takes writes.
		pl.Node.Report(err)
		return newNodeError(pl, w.mode, op, fmt.Errorf("%w: %w: %w", ErrNoPrimary, ErrReadOnly, err))
	}
	if w.write && outcomeUnknown(err) { // the rule of outcome.go
		if cluster.ConnectionClass(err) {
			pl.Node.Report(err)
		}
		if ctx.Err() != nil {
			return newNodeError(pl, w.mode, op, fmt.Errorf("%w: the context ended while it ran: %w", ErrOutcomeUnknown, err))
		}
		return newNodeError(pl, w.mode, op, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err))
	}
	if ctx.Err() == nil && cluster.ConnectionClass(err) {
		pl.Node.Report(err)
	}
	return bare(err)
}

var (
	_ driver.Connector              = connector{}
	_ driver.ConnBeginTx            = (*drvConn)(nil)
	_ driver.ConnPrepareContext     = (*drvConn)(nil)
	_ driver.ExecerContext          = (*drvConn)(nil)
	_ driver.QueryerContext         = (*drvConn)(nil)
	_ driver.SessionResetter        = (*drvConn)(nil)
	_ driver.NamedValueChecker      = (*drvConn)(nil)
	_ driver.Conn                   = (*drvConn)(nil)
	_ driver.StmtExecContext        = (*drvStmt)(nil)
	_ driver.StmtQueryContext       = (*drvStmt)(nil)
	_ interface{ Conn() *pgx.Conn } = (*drvConn)(nil) // for sql.Conn.Raw users (repos' COPY)
)
