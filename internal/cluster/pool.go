package cluster

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
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
// when every connection is in use, a caller waits at most Wait, then gets
// ErrPoolTimeout instead of queueing forever.
type Pool struct {
	DB   *sql.DB
	Node *Node
	Kind PoolKind
	Wait time.Duration
	Max  int32        // the *sql.DB's MaxOpenConns; 0: no limit
	Open atomic.Int32 // driver connections open, counted by the query path's connector (see held.go)
	Held atomic.Int32 // connections the query path holds for a transaction or Conn (see held.go)
	// released bounds the callers a topology change releases (see admit.go).
	released gate

	// Local is the query path's own state of the pool (its prepared
	// statements), set by Options.Connector; the cluster never reads it.
	Local any
}

// Conn takes one connection, waiting at most pl.Wait (then a
// *PoolTimeoutError). Give it back with Put.
func (pl *Pool) Conn(ctx context.Context) (*sql.Conn, error) {
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
	return nil, err
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
