package plugin

import (
	"errors"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// SQLSTATE codes that make a transaction worth re-running as a whole.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// SQLState returns the SQLSTATE of a server error in err's chain, or "".
func SQLState(err error) string { return cluster.SQLState(err) }

// IsRetryableTxError reports whether a transaction that failed with err may be
// re-run as a whole: a serialization failure, a deadlock, or a write refused
// because the transaction's node stopped being the primary (it cannot have
// committed; the next attempt begins on the new primary).
func IsRetryableTxError(err error) bool {
	var d *demotedError
	if errors.As(err, &d) {
		return true
	}
	switch SQLState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}
