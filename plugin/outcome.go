package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// The outcome rule. ErrOutcomeUnknown means exactly: the write was sent to
// a server and its answer was lost (the connection broke, or the context
// ended while it ran), so it may or may not have been applied. A write that
// was never sent returns its own error (the context's, ErrPoolTimeout,
// ErrNoPrimary ...), as plain GORM does, and one the server answered with
// an error returns that error. outcomeUnknown is that rule; every place
// that decides a write's outcome asks it (route.classify for each attempt,
// txConn.Commit for COMMIT, writeOutcome for a write's RETURNING rows),
// and each supplies the one fact it needs, whether the statement was sent:
// sent for a call that failed (the attempt marks what it knows was never
// sent: unsentError), writeCall.rows for rows GORM was handed.

// outcomeUnknown reports whether a write that failed with err has an
// unknown outcome: it was sent and its answer was lost.
func outcomeUnknown(err error) bool {
	return sent(err) && answerLost(err)
}

// sent reports whether a statement whose call failed with err was handed
// to a server. It was not when:
//   - the attempt says so (unsentError): the context was done before the
//     call, no pooled connection came (the pool's wait, pool_timeout, the
//     context ending while it waited), or preparing the statement failed;
//   - err is the plugin's own, from before a connection was used: no node
//     (ErrNoPrimary, ErrNoHealthyNode), ErrPoolTimeout, ErrClosed;
//   - the driver proves it (notSent: a failed connect, driver.ErrBadConn,
//     pgconn.SafeToRetry);
//   - err is context.DeadlineExceeded itself: database/sql returns it bare
//     only when it gave up before a connection ran the statement (waiting
//     in its own queue, or before COMMIT, which it then rolls back); pgx
//     wraps a deadline met on the wire (pgconn.Timeout). A bare
//     context.Canceled proves nothing: pgx returns it bare for a statement
//     cancelled on the wire too, so it counts as sent.
func sent(err error) bool {
	var u *unsentError
	if err == nil || errors.As(err, &u) || cluster.NotSent(err) || err == context.DeadlineExceeded {
		return false
	}
	return !errors.Is(err, ErrNoPrimary) && !errors.Is(err, ErrNoHealthyNode) &&
		!errors.Is(err, ErrPoolTimeout) && !errors.Is(err, ErrClosed)
}

// answerLost reports whether err says a sent statement's answer never
// came (the connection broke, the context ended or a timeout hit while it
// ran), rather than the server answering with an error.
func answerLost(err error) bool {
	return cluster.ConnectionClass(err) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}

// unsentError is the attempt's own word that its statement never went
// out (see sent). It never reaches the caller: the route returns the error
// it wraps (bare), as plain GORM would.
type unsentError struct{ err error }

// beforeSend marks err, met before the statement was sent, as unsent. A
// server's answer to a step before it (a syntax error in PREPARE) stays as
// it is: it is the statement's error, not a lost connection.
func beforeSend(err error) error {
	if err == nil || SQLState(err) != "" && !cluster.ConnectionClass(err) {
		return err
	}
	return &unsentError{err}
}

// bare removes the attempt's unsent mark before an error reaches the caller.
func bare(err error) error {
	if u, ok := err.(*unsentError); ok {
		return u.err
	}
	return err
}

func (e *unsentError) Error() string { return e.err.Error() }
func (e *unsentError) Unwrap() error { return e.err }

// writeCall is the context of one GORM create, update or delete the plugin
// routed: it records whether the route handed the statement's rows to GORM
// (RETURNING), the fact writeOutcome needs. It is its own context value, so
// it costs one allocation per routed write.
type writeCall struct {
	context.Context
	rows bool // the route handed rows to GORM: the statement was sent
}

type writeCallKey struct{}

func (w *writeCall) Value(key any) any {
	if key == (writeCallKey{}) {
		return w
	}
	return w.Context.Value(key)
}

// startWrite gives stmt a writeCall context.
func startWrite(stmt *gorm.Statement) {
	if stmt.Context != nil {
		stmt.Context = &writeCall{Context: stmt.Context}
	}
}

// handedRows records that a write route handed rows to GORM under ctx.
func handedRows(ctx context.Context) {
	if w, ok := ctx.Value(writeCallKey{}).(*writeCall); ok {
		w.rows = true
	}
}

// writeOutcome classifies an error GORM met while reading a write's
// RETURNING rows. route.QueryContext decides about what fails before it
// returns (its errors reach GORM decided), but a connection lost (or a
// context ended) after the first rows reached GORM only shows while GORM
// scans, as a raw network or context error. The statement was sent, so by
// the rule its outcome is unknown when its answer was lost. A write whose
// rows never reached GORM (the route failed it, or GORM's BEGIN failed
// before it) keeps its error. Writes in a transaction or on a pinned
// connection are left alone (their transaction did not commit, or the
// caller owns the connection).
func (p *Plugin) writeOutcome(db *gorm.DB) {
	err := db.Error
	if err == nil || classified(err) {
		return
	}
	r, ok := db.Statement.ConnPool.(*route)
	if !ok || r.read || db.Statement.Context == nil {
		return
	}
	w, ok := db.Statement.Context.Value(writeCallKey{}).(*writeCall)
	if !ok || !w.rows || !answerLost(err) {
		return
	}
	db.Error = fmt.Errorf("%w (while reading the rows it returned): %w", ErrOutcomeUnknown, err)
}

// classified reports whether err already carries the plugin's verdict.
func classified(err error) bool {
	return routeGaveUp(err) || errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrReadOnly)
}
