package plugin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// Sentinel errors of the plugin, re-exported by package datalayer. Test for
// them with errors.Is: the errors returned wrap them with the node and the
// operation (a *NodeError, a *PoolTimeoutError).
var (
	// ErrReadOnly is returned for a write in ReadOnly mode (refused before it
	// is sent), and for a write that a read-only server session refused
	// (SQLSTATE 25006 on a read-only pool or transaction).
	ErrReadOnly = errors.New("unifieddb: write refused in read-only mode")
	// ErrNoPrimary is returned by a write when no writable node was found
	// within failover_timeout.
	ErrNoPrimary = cluster.ErrNoPrimary
	// ErrNoHealthyNode is returned by a read when no node can serve it.
	ErrNoHealthyNode = cluster.ErrNoHealthyNode
	// ErrPoolTimeout is returned when no connection of a pool became free
	// within pool_timeout, wrapped in a *PoolTimeoutError.
	ErrPoolTimeout = cluster.ErrPoolTimeout
	// ErrOutcomeUnknown means: sent, outcome not known. A write (or COMMIT)
	// reached the server and its answer was lost (the connection broke, the
	// context ended while it ran): it may or may not have been applied, so
	// it is not retried. A write never sent returns its own error (see
	// outcome.go).
	ErrOutcomeUnknown = errors.New("unifieddb: connection lost after the statement was sent; its outcome is unknown")
	// ErrClosed is returned by every call after Close.
	ErrClosed = cluster.ErrClosed
	// ErrInvalidMode is the error of every statement given a Mode that is
	// none of Auto, ReadOnly, ReadWrite, Batch and Transactional (say
	// Mode(7)): by m.Conn, db.Clauses, InMode and WithConn.
	ErrInvalidMode = errors.New("unifieddb: invalid mode")
	// ErrUnregisteredModel is returned in strict mode for a statement on a
	// model the registry does not know.
	ErrUnregisteredModel = errors.New("unifieddb: model is not registered")
)

// Operations a *NodeError names.
const (
	OpExec   = "exec"   // a statement that returns no rows (database/sql ExecContext)
	OpQuery  = "query"  // a statement that returns rows (QueryContext, QueryRowContext)
	OpBegin  = "begin"  // BEGIN of a transaction
	OpCommit = "commit" // COMMIT of a transaction
	OpConn   = "conn"   // the function given to WithConn
)

// NodeError is an error the plugin decided about one node: a write whose
// outcome is unknown, a refusal by a read-only node, a demoted primary, or
// the last failure on a node before failover_timeout ran out. Read the node
// with errors.As instead of parsing the message. It wraps the plugin's
// sentinel (test with errors.Is as before) and the driver's error
// (errors.As(err, &*pgconn.PgError) still finds the server's error).
// Errors that the server gave for the statement itself (a unique violation,
// a syntax error) are returned as they are, as plain GORM returns them.
type NodeError struct {
	Node string // host:port of the node
	Mode Mode   // the statement's mode
	Op   string // OpExec, OpQuery, OpBegin, OpCommit or OpConn
	Err  error  // wraps a sentinel and the cause

	secret string // the node's password, removed from Error
}

// newNodeError wraps err with pl's node; nil stays nil.
func newNodeError(pl *cluster.Pool, mode Mode, op string, err error) error {
	if err == nil {
		return nil
	}
	return &NodeError{Node: pl.Node.Name, Mode: mode, Op: op, Err: err, secret: pl.Node.Secret()}
}

func (e *NodeError) Error() string {
	msg := fmt.Sprintf("%v (node %s, %s mode, %s)", e.Err, e.Node, e.Mode, e.Op)
	if e.secret != "" {
		// Drivers do not print the password; this is a second guard.
		msg = strings.ReplaceAll(msg, e.secret, "***")
	}
	return msg
}

// Unwrap gives Err, so errors.Is and errors.As see through a NodeError.
func (e *NodeError) Unwrap() error { return e.Err }

// PoolTimeoutError says which pool was exhausted. It wraps ErrPoolTimeout.
type PoolTimeoutError = cluster.PoolTimeoutError

// demotedError: a read-write transaction's statement was refused with 25006
// because its node is no longer writable. It wraps ErrNoPrimary and the
// server's error; IsRetryableTxError finds it. It comes inside a *NodeError
// that names the node.
type demotedError struct {
	err error
}

func (e *demotedError) Error() string {
	return fmt.Sprintf("%v: the node no longer takes writes; the transaction did not commit: %v", ErrNoPrimary, e.err)
}

func (e *demotedError) Unwrap() []error { return []error{ErrNoPrimary, e.err} }
