package plugin

import "errors"

// Sentinel errors of the plugin, re-exported by package datalayer. Test for
// them with errors.Is: the errors returned wrap them with the node and the
// operation.
var (
	// ErrReadOnly is returned for a write in ReadOnly mode (refused before it
	// is sent), and for a write that a read-only server session refused
	// (SQLSTATE 25006 on a read-only pool or transaction).
	ErrReadOnly = errors.New("unifieddb: write refused in read-only mode")
	// ErrNoPrimary is returned by a write when no writable node was found
	// within failover_timeout.
	ErrNoPrimary = errors.New("unifieddb: no writable primary")
	// ErrNoHealthyNode is returned by a read when no node can serve it.
	ErrNoHealthyNode = errors.New("unifieddb: no healthy node")
	// ErrPoolTimeout is returned when no connection of a pool became free
	// within pool_timeout.
	ErrPoolTimeout = errors.New("unifieddb: timed out waiting for a free connection")
	// ErrOutcomeUnknown is returned when the connection broke after a write
	// was sent: it may or may not have been applied, so it is not retried.
	ErrOutcomeUnknown = errors.New("unifieddb: connection lost after the statement was sent; its outcome is unknown")
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("unifieddb: manager is closed")
)
