package cluster

import (
	"errors"
	"fmt"
	"time"
)

// The sentinel errors of a cluster, re-exported by package plugin (and
// datalayer) under the same names. Test for them with errors.Is.
var (
	// ErrNoPrimary is returned by a write when no writable node was found
	// within failover_timeout.
	ErrNoPrimary = errors.New("unifieddb: no writable primary")
	// ErrNoHealthyNode is returned by a read when no node can serve it.
	ErrNoHealthyNode = errors.New("unifieddb: no healthy node")
	// ErrPoolTimeout is returned when no connection of a pool became free
	// within pool_timeout, wrapped in a *PoolTimeoutError.
	ErrPoolTimeout = errors.New("unifieddb: timed out waiting for a free connection")
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("unifieddb: manager is closed")
)

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
