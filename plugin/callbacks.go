package plugin

import (
	"errors"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

const callbackName = "unifieddb:route"

func (p *Plugin) registerCallbacks(db *gorm.DB) error {
	cb := db.Callback()
	return errors.Join(
		cb.Create().Before("*").Register(callbackName, p.routeWrite),
		cb.Query().Before("*").Register(callbackName, p.routeQuery),
		cb.Update().Before("*").Register(callbackName, p.routeWrite),
		cb.Delete().Before("*").Register(callbackName, p.routeWrite),
		cb.Row().Before("*").Register(callbackName, p.routeRow),
		cb.Raw().Before("*").Register(callbackName, p.routeRaw),
		cb.Query().After("gorm:query").Before("gorm:preload").Register("unifieddb:requery", p.requery),
		cb.Create().After("gorm:create").Register("unifieddb:outcome", p.writeOutcome),
		cb.Update().After("gorm:update").Register("unifieddb:outcome", p.writeOutcome),
		cb.Delete().After("gorm:delete").Register("unifieddb:outcome", p.writeOutcome),
		cb.Create().After("gorm:create").Register("unifieddb:prepared", recordPrepared),
		cb.Query().After("gorm:query").Register("unifieddb:prepared", recordPrepared),
		cb.Update().After("gorm:update").Register("unifieddb:prepared", recordPrepared),
		cb.Delete().After("gorm:delete").Register("unifieddb:prepared", recordPrepared),
		cb.Raw().After("gorm:raw").Register("unifieddb:prepared", recordPrepared),
		// GORM's default transaction, kept wherever GORM may run more than
		// one statement (onestatement.go).
		cb.Create().Replace("gorm:begin_transaction", p.begin(kindCreate)),
		cb.Update().Replace("gorm:begin_transaction", p.begin(kindUpdate)),
		cb.Delete().Replace("gorm:begin_transaction", p.begin(kindDelete)),
		p.registerDBResolver(db),
	)
}

// routeWrite routes a create, update or delete, in a writeCall context
// when it goes to a route: writeOutcome learns from it whether its rows
// reached GORM (outcome.go).
func (p *Plugin) routeWrite(db *gorm.DB) {
	p.route(db, opWrite, true)
	if _, routed := db.Statement.ConnPool.(*route); routed && db.Error == nil && !db.DryRun {
		startWrite(db.Statement)
	}
}

// routeRaw routes db.Exec: GORM reads no rows of it.
func (p *Plugin) routeRaw(db *gorm.DB) { p.route(db, opWrite, true) }

// routeQuery: a model read may go to a replica; raw SQL, locking reads and
// the read of FirstOrCreate/FirstOrInit (firstorcreate.go) go to the primary
// unless the mode says otherwise. Raw SQL is never routed by
// guessing from its text: SELECT nextval(...) is a write.
// A locking read and FirstOrCreate's read are still model reads: retried
// where their connection breaks (opPrimaryRead), never ErrOutcomeUnknown.
func (p *Plugin) routeQuery(db *gorm.DB) {
	op := opRead
	if db.Statement.SQL.Len() > 0 {
		op = opWrite
	} else if _, locking := db.Statement.Clauses["FOR"]; locking {
		op = opPrimaryRead
	} else if readBeforeWrite(db.Statement) && modeOf(db.Statement) == Auto {
		op = opPrimaryRead
	}
	p.route(db, op, false)
}

// routeRow serves Row, Rows and Scan like any query: a single-row query's
// routing error (no node within failover_timeout, pool_timeout) reaches Scan
// through the *sql.Row (see route.QueryRowContext), after the same wait for a
// node as every other statement.
//
// A statement the plugin itself refuses (after Close: ErrClosed; a write
// refused in ReadOnly; strict mode's unregistered model) never reaches
// QueryRowContext, so GORM's Row would hand back a nil *sql.Row whose Scan
// panics, where database/sql gives a row carrying the error: the row is
// made here. So for an invalid mode (ErrInvalidMode, set by the mode clause).
func (p *Plugin) routeRow(db *gorm.DB) {
	if db.Error != nil && !errors.Is(db.Error, ErrInvalidMode) {
		return // GORM's own: it returns no row, as without the plugin
	}
	p.routeQuery(db)
	if db.Error == nil || db.Statement.Dest != nil {
		return
	}
	if rows, _ := db.Get("rows"); rows != true { // Row, not Rows: Rows returns the error
		db.Statement.Dest = errRow(db.Statement.Context, db.Error)
	}
}

func (p *Plugin) route(db *gorm.DB, op opKind, write bool) {
	if db.Error != nil {
		return
	}
	if p.closed.Load() {
		db.AddError(ErrClosed)
		return
	}
	stmt := db.Statement
	if p.opts.Registrar != nil && stmt.Schema != nil {
		if err := p.checkModel(stmt.Schema); err != nil {
			db.AddError(err)
			return
		}
	}
	mode, clause := clauseMode(stmt)
	if !mode.valid() { // only a clause set by hand can hold one
		db.AddError(mode.invalid())
		return
	}
	keep, err := kept(stmt, mode, write)
	if keep && err == nil && p.sites != nil {
		if err = p.crossCluster(stmt); err != nil && leavesCallTx(stmt) {
			keep, err = false, nil // an association save: it runs on its own cluster (assocsave.go)
		}
	}
	if keep {
		pin(stmt, mode, op)
		p.onItsPool(stmt.ConnPool)
		carryMode(stmt, mode)
		if err != nil {
			db.AddError(err)
		}
		return
	}
	if write && mode == ReadOnly && !db.DryRun {
		// A dry run sends nothing: GORM builds the SQL, as without the plugin.
		db.AddError(refusal(stmt))
		return
	}
	s, err := p.statementSite(stmt)
	if err != nil {
		db.AddError(err)
		return
	}
	r := s.routes[mode][op]
	if wantsPrepared(stmt.ConnPool) {
		r = r.prepared
	}
	stmt.ConnPool = r
	if clause {
		carryMode(stmt, mode)
	}
	// An inherited mode is inherited again from r, a route of that mode,
	// with the same context: carryMode would find nothing to mark, after a
	// second context lookup on every Auto statement (issue 21;
	// TestRoutedInheritedModeNeedsNoMark).
}

func refusal(stmt *gorm.Statement) error {
	if stmt.Table != "" {
		return fmt.Errorf("%w: write on table %s", ErrReadOnly, stmt.Table)
	}
	return fmt.Errorf("%w: statement refused before it was sent", ErrReadOnly)
}

// checkModel registers a model the first time the plugin sees it, or in
// strict mode refuses a model the registry does not know.
func (p *Plugin) checkModel(s *schema.Schema) error {
	if _, ok := p.seen.Load(s); ok {
		return nil
	}
	model := reflect.New(s.ModelType).Interface()
	switch {
	case p.opts.RequireRegistered:
		if _, ok := p.opts.Registrar.Lookup(model); !ok {
			return fmt.Errorf("%w: %s (table %s); register it with registry.Register", ErrUnregisteredModel, s.ModelType, s.Table)
		}
	case p.opts.AutoRegister:
		if err := p.opts.Registrar.Register(model); err != nil {
			p.log.Warn("unifieddb: auto-registration failed", "model", s.ModelType.String(), "error", err)
		}
	}
	p.seen.Store(s, struct{}{})
	return nil
}
