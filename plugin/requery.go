package plugin

import (
	"errors"
	"reflect"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// requery runs again a model read whose connection broke after its first
// rows reached GORM (a reset mid-result): route.QueryContext cannot, since
// the error only shows while GORM scans. A read has no side effect, so, as
// for any failed read, it is run again (on a node the route picks anew),
// into a destination emptied of the partial result. It runs right after
// gorm:query, before preloads. Only plain reads outside transactions and
// pinned connections, into a slice or a struct, are run again.
//
// The first re-run is immediate. Later ones wait for a topology change or
// a growing backoff, as the route's retries do, and stop at
// failover_timeout: a node whose connections are being reset (a middlebox
// dropping its state) may break a re-run too before its probe takes it out
// of rotation, so a fixed count of re-runs failed reads a later try would
// have served.
func (p *Plugin) requery(db *gorm.DB) {
	var (
		deadline time.Time
		backoff  = 20 * time.Millisecond
	)
	for {
		ctx := db.Statement.Context
		if db.Error == nil || !cluster.ConnectionClass(db.Error) || routeGaveUp(db.Error) || ctx.Err() != nil {
			return
		}
		r, ok := db.Statement.ConnPool.(*route)
		if !ok || !r.read || !emptyDest(db.Statement.ReflectValue) {
			return
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(r.s.opts.FailoverTimeout)
		} else {
			remaining := time.Until(deadline)
			if remaining <= 0 || r.s.c.WaitChange(ctx, min(backoff, remaining)) != nil {
				return
			}
			backoff = min(backoff*2, 500*time.Millisecond)
		}
		if p.opts.Metrics {
			p.modeStats[r.mode].Retried()
		}
		db.Error, db.RowsAffected = nil, 0
		callbacks.Query(db)
	}
}

// routeGaveUp reports whether the route already retried the read and gave
// up (its error wraps the last attempt's connection error): no row reached
// GORM, and running it again would wait another failover_timeout.
func routeGaveUp(err error) bool {
	return errors.Is(err, ErrNoHealthyNode) || errors.Is(err, ErrNoPrimary) ||
		errors.Is(err, ErrPoolTimeout) || errors.Is(err, ErrClosed)
}

// emptyDest drops a partial result: a slice back to length 0, a struct to
// its zero value. Any other destination is left alone (no re-run).
func emptyDest(v reflect.Value) bool {
	if !v.IsValid() || !v.CanSet() {
		return false
	}
	switch v.Kind() {
	case reflect.Slice:
		v.SetLen(0)
		return true
	case reflect.Struct:
		v.SetZero()
		return true
	}
	return false
}
