package plugin

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// A transaction is handed to GORM as the *sql.Tx database/sql gives, as
// plain GORM hands it (library code tells a transaction from a pool by
// Statement.ConnPool.(*sql.Tx)). What the plugin knows of it is a txState:
// the driver connection holds it while the transaction is open (its
// statements, COMMIT and ROLLBACK are kept there, see drvconn.go), and
// openTxs finds it from the *sql.Tx for the routing callback and the mode
// of GORM's derived statements. Both drop it when the transaction ends.

// txState is one open transaction.
type txState struct {
	s        *site // the cluster a route began it on; nil otherwise
	pl       *cluster.Pool
	mode     Mode
	readOnly bool
	ctx      context.Context // of BeginTx, for read-your-writes
	counted  bool            // a route began it: it counts in pl.held until it ends
	conn     *sql.Conn       // the dedicated connection, if the route took one
	implicit bool            // GORM began it for one call (gorm:begin_transaction), with several clusters: see assocsave.go
	// lazy: begun on no cluster; its first statement binds it to one
	// (bound; see lazytx.go). s stays nil.
	lazy  bool
	bound atomic.Pointer[site]

	key   atomic.Pointer[sql.Tx] // its entry in openTxs, once known
	ended atomic.Bool
}

// cluster is the transaction's cluster: for a lazy one, the one its first
// statement bound it to, nil before.
func (st *txState) cluster() *site {
	if st.lazy {
		return st.bound.Load()
	}
	return st.s
}

// bind binds a lazy transaction to s unless a statement bound it first,
// and returns the cluster it is bound to.
func (st *txState) bind(s *site) *site {
	if st.bound.CompareAndSwap(nil, s) {
		return s
	}
	return st.bound.Load()
}

// txKey carries a route's txState to the driver connection's BeginTx.
type txKey struct{}

// openTxs maps each *sql.Tx a route began to its *txState, until it ends.
// Keys are pointers, unique across plugins.
var openTxs sync.Map

// opened records tx as st's transaction. database/sql may already have
// ended it (its context ended): then nothing stays behind.
func (st *txState) opened(tx *sql.Tx) {
	st.key.Store(tx)
	openTxs.Store(tx, st)
	if st.ended.Load() {
		openTxs.Delete(tx)
	}
}

// end drops the state and gives the connection back, once.
func (st *txState) end() {
	if !st.ended.CompareAndSwap(false, true) {
		return
	}
	if k := st.key.Load(); k != nil {
		openTxs.Delete(k)
	}
	if !st.counted {
		return
	}
	if st.conn != nil {
		// database/sql still holds the connection until the COMMIT or
		// ROLLBACK that called end returns: Close waits for it.
		go st.pl.End(st.conn)
		return
	}
	st.pl.End(nil)
}

// txOf finds the state of a transaction a route began: cp is its *sql.Tx,
// or GORM's prepared-statement wrapper around it. nil for anything else.
func txOf(cp gorm.ConnPool) *txState {
	var tx *sql.Tx
	switch c := cp.(type) {
	case *sql.Tx:
		tx = c
	case *gorm.PreparedStmtTX:
		tx, _ = c.Tx.(*sql.Tx)
	}
	if tx == nil {
		return nil
	}
	st, _ := openTxs.Load(tx)
	s, _ := st.(*txState)
	return s
}

func (st *txState) translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if cluster.ReadOnlyRefusal(err) {
		if st.readOnly {
			return newNodeError(st.pl, st.mode, op, fmt.Errorf("%w: %w", ErrReadOnly, err))
		}
		// A read-write transaction's node no longer takes writes (demoted,
		// or read-only for maintenance): nothing of it can commit, and the
		// next transaction must begin elsewhere.
		st.pl.Node.Report(err)
		return newNodeError(st.pl, st.mode, op, &demotedError{err: err})
	}
	if cluster.ConnectionClass(err) {
		st.pl.Node.Report(err)
	}
	return err
}

// committed ends the state after COMMIT returned err. database/sql sends no
// COMMIT on a done context (it rolls back and returns the context's error
// without calling the driver), so here COMMIT was sent: a lost answer (the
// connection lost, the context ended while it ran, say waiting for a
// synchronous standby) leaves the outcome unknown (the rule of outcome.go).
func (st *txState) committed(err error) error {
	st.end()
	if err == nil && !st.readOnly {
		wrote(st.ctx, st.s)
	}
	if err != nil && !st.readOnly && outcomeUnknown(err) {
		if cluster.ConnectionClass(err) {
			st.pl.Node.Report(err)
		}
		if st.ctx.Err() != nil {
			return newNodeError(st.pl, st.mode, OpCommit, fmt.Errorf("%w: the context ended during COMMIT: %w", ErrOutcomeUnknown, err))
		}
		return newNodeError(st.pl, st.mode, OpCommit, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err))
	}
	return st.translate(OpCommit, bare(err))
}

// isSavepoint reports whether query is one of the savepoint statements GORM's
// nested transactions send through the dialector (SAVEPOINT, ROLLBACK TO
// SAVEPOINT, RELEASE SAVEPOINT, each with a bare name). They change no data,
// and a read-only transaction accepts them. Only these exact forms pass:
// anything more is treated as the write it may be.
func isSavepoint(query string) bool {
	n := savepointName(query)
	return n.kind != "" && bareName(n.name)
}

// spName is a savepoint statement's kind (SAVEPOINT, ROLLBACK TO
// SAVEPOINT, RELEASE SAVEPOINT) and name, upper-cased; kind is empty for
// any other statement.
type spName struct{ kind, name string }

func savepointName(query string) spName {
	q := strings.ToUpper(strings.TrimSpace(query))
	for _, kind := range []string{"SAVEPOINT ", "ROLLBACK TO SAVEPOINT ", "RELEASE SAVEPOINT "} {
		if name, ok := strings.CutPrefix(q, kind); ok {
			return spName{kind: kind[:len(kind)-1], name: name}
		}
	}
	return spName{}
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
