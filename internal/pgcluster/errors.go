package pgcluster

import (
	"errors"
	"strings"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrClosed is returned by Cluster and Node methods called after Cluster.Close.
	ErrClosed = errors.New("pgcluster: cluster is closed")
	// ErrNotRunning is returned by Node methods that need a running server.
	ErrNotRunning = errors.New("pgcluster: node is not running")
	// ErrNoPrimary is returned by Cluster.Primary when no running node is out of recovery.
	ErrNoPrimary = errors.New("pgcluster: no primary")
	// ErrMultiplePrimaries is returned by Cluster.Primary when more than one
	// running node is out of recovery (a split brain the test made on purpose or not).
	ErrMultiplePrimaries = errors.New("pgcluster: more than one primary")
	// ErrNoServerBinaries is returned by Start when no PostgreSQL server binaries are found.
	ErrNoServerBinaries = errors.New("pgcluster: no PostgreSQL server binaries found (run scripts/ensure-postgres.sh)")
	// ErrDirNotEnterable is returned by Start, run as root, when the postgres
	// OS user cannot enter a parent of the cluster's directory (a 0700 one).
	ErrDirNotEnterable = errors.New("pgcluster: the postgres OS user cannot enter a parent of the cluster's directory")
	// ErrNeedsLinux is returned by Start on other systems: the cluster's
	// process control uses Pdeathsig, /proc and process groups.
	ErrNeedsLinux = errors.New("pgcluster: needs Linux (it runs PostgreSQL under Pdeathsig, /proc and process groups)")
)

// redactor removes the cluster password from text produced by PostgreSQL
// tools and servers before it reaches an error or a log line.
type redactor struct{ secret string }

const redacted = "[REDACTED]"

func (r redactor) String(s string) string {
	if r.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, r.secret, redacted)
}

// Error wraps err so that its message never shows the secret. errors.Is and
// errors.As still see the original error through Unwrap.
func (r redactor) Error(err error) error {
	if err == nil || r.secret == "" || !strings.Contains(err.Error(), r.secret) {
		return err
	}
	return &redactedError{msg: r.String(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
