package datalayer

import (
	"errors"
	"strings"

	"github.com/prompt-improver/unifieddb/plugin"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrReadOnly: a write in ReadOnly mode (see plugin.ErrReadOnly).
	ErrReadOnly = plugin.ErrReadOnly
	// ErrNoPrimary: no writable node within failover_timeout, or at once
	// when every node has a fault waiting cannot cure (*UnavailableError).
	ErrNoPrimary = plugin.ErrNoPrimary
	// ErrNoHealthyNode: no node can serve a read (*UnavailableError).
	ErrNoHealthyNode = plugin.ErrNoHealthyNode
	// ErrPoolTimeout: no free connection within pool_timeout.
	ErrPoolTimeout = plugin.ErrPoolTimeout
	// ErrOutcomeUnknown: the connection broke after a write was sent.
	ErrOutcomeUnknown = plugin.ErrOutcomeUnknown
	// ErrClosed: the Manager is closed.
	ErrClosed = plugin.ErrClosed
	// ErrInvalidMode: a Mode that is none of the five (say Mode(7)).
	ErrInvalidMode = plugin.ErrInvalidMode
	// ErrUnregisteredModel: in strict_mode, a statement on a model the
	// registry does not know.
	ErrUnregisteredModel = plugin.ErrUnregisteredModel
	// ErrInvalidConfig is wrapped by every *ConfigError.
	ErrInvalidConfig = errors.New("unifieddb: invalid configuration")
)

// NodeError names the node, the mode and the operation of an error the
// plugin decided about one node (ErrOutcomeUnknown, ErrReadOnly, a demoted
// primary, the last failure before failover_timeout). Read it with
// errors.As(err, &nodeErr); errors.Is still finds the sentinels and the
// driver's error. See plugin.NodeError.
type NodeError = plugin.NodeError

// PoolTimeoutError names the pool that had no free connection within
// pool_timeout; it wraps ErrPoolTimeout. See plugin.PoolTimeoutError.
type PoolTimeoutError = plugin.PoolTimeoutError

// UnavailableError is the error of a call that found no node to run on:
// it wraps ErrNoPrimary or ErrNoHealthyNode and names each node with its
// last error (errors.As reaches the server's *pgconn.PgError of it). Its
// Permanent field says the call failed at once, for a fault waiting cannot
// cure (a refused password, an unknown database, a TLS refusal, a host
// name that does not resolve). See plugin.UnavailableError.
type UnavailableError = plugin.UnavailableError

// NodeFault is one node of an UnavailableError. See plugin.NodeFault.
type NodeFault = plugin.NodeFault

// FieldError is one problem of one configuration key.
type FieldError struct {
	// Field is the YAML key, e.g. "port" or "replica_hosts[1]"; "" for a
	// problem of the whole file (a YAML syntax error, a file too large).
	Field string
	// Problem says what is wrong, without the value of a secret.
	Problem string
}

// ConfigError names every bad field of a configuration. It wraps
// ErrInvalidConfig.
type ConfigError struct {
	Fields []FieldError
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("unifieddb: invalid configuration: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		if f.Field != "" {
			b.WriteString(f.Field)
			b.WriteString(": ")
		}
		b.WriteString(f.Problem)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Has reports whether field is among the bad fields.
func (e *ConfigError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
