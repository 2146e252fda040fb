package plugin

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// writeOutcome classifies an error GORM met while reading a write's
// RETURNING rows. route.QueryContext classifies what fails before it
// returns, but a connection lost (or a context ended) after the first
// rows reached GORM only shows while GORM scans, as a raw network or
// context error. The statement was sent and may have run: it is
// ErrOutcomeUnknown, as every such write is. Writes in a transaction or on
// a pinned connection are left alone (their transaction did not commit,
// or the caller owns the connection).
func (p *Plugin) writeOutcome(db *gorm.DB) {
	err := db.Error
	if err == nil || classified(err) {
		return
	}
	r, ok := db.Statement.ConnPool.(*route)
	if !ok || r.read {
		return
	}
	ctx := db.Statement.Context
	ended := ctx != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
	if !connectionClass(err) && !ended {
		return
	}
	db.Error = fmt.Errorf("%w (while reading the rows it returned): %w", ErrOutcomeUnknown, err)
}

// classified reports whether err already carries the plugin's verdict.
func classified(err error) bool {
	return routeGaveUp(err) || errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrReadOnly)
}
