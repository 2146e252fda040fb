package plugin

import (
	"context"
	"database/sql"
	"errors"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// ErrNotInstalled is returned by WithConn for a *gorm.DB the plugin is not
// installed on.
var ErrNotInstalled = errors.New("unifieddb: the plugin is not installed on this gorm.DB")

// WithConn runs fn on one connection of the primary's pool for the mode of
// db's statement (Batch: the Batch pool; Transactional: its pool; otherwise
// the write pool), for work GORM cannot express, such as COPY. It keeps the
// plugin's guarantees: it waits for a primary up to failover_timeout and for
// a free connection up to pool_timeout; fn is run again on the new primary
// only when its error proves nothing was sent (or the node refused a write
// with 25006); a connection lost once fn may have sent a write ends as
// ErrOutcomeUnknown, never as an error a caller would retry into duplicates.
// Writes fn makes are not seen by read-your-writes: call MarkWritten.
func WithConn(ctx context.Context, db *gorm.DB, fn func(c *sql.Conn) error) error {
	p := fromDB(db)
	if p == nil {
		return ErrNotInstalled
	}
	if db.Error != nil {
		return db.Error // an invalid mode, among others
	}
	mode := Auto
	if db.Statement != nil {
		mode = modeOf(db.Statement)
	}
	if !mode.valid() {
		return mode.invalid()
	}
	if mode == ReadOnly {
		return ErrReadOnly
	}
	s := &p.site
	if db.Statement != nil {
		var err error
		if s, _, err = p.siteFor(db.Statement); err != nil {
			return err
		}
	}
	if s.inst != nil {
		// fn may have written (COPY): the instance's reads must see it.
		defer s.inst.writes.Add(1)
	}
	r := s.routes[mode][opWrite]
	do := func(pl *cluster.Pool) error {
		c, err := poolConn(ctx, pl)
		if err != nil {
			return err
		}
		defer pl.Put(c)
		return fn(c)
	}
	pl, err := r.pick(0)
	if err != nil {
		return r.noNode(ctx, OpConn, err, do)
	}
	if err := do(pl); err != nil {
		return r.retryLoop(ctx, OpConn, pl, err, false, do)
	}
	return nil
}
