package plugin

import (
	"errors"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/schema"
)

// ErrUnregisteredModel is returned in strict mode for a statement on a model
// the registry does not know.
var ErrUnregisteredModel = errors.New("unifieddb: model is not registered")

const callbackName = "unifieddb:route"

func (p *Plugin) registerCallbacks(db *gorm.DB) error {
	cb := db.Callback()
	return errors.Join(
		cb.Create().Before("*").Register(callbackName, p.routeWrite),
		cb.Query().Before("*").Register(callbackName, p.routeQuery),
		cb.Update().Before("*").Register(callbackName, p.routeWrite),
		cb.Delete().Before("*").Register(callbackName, p.routeWrite),
		cb.Row().Before("*").Register(callbackName, p.routeRow),
		cb.Raw().Before("*").Register(callbackName, p.routeWrite),
		// GORM wraps every create, update and delete in a transaction: three
		// round trips where one statement is atomic by itself. Keep the
		// transaction only where GORM may run several statements.
		cb.Create().Replace("gorm:begin_transaction", beginIfNeeded),
		cb.Update().Replace("gorm:begin_transaction", beginIfNeeded),
		cb.Delete().Replace("gorm:begin_transaction", beginIfNeeded),
	)
}

func (p *Plugin) routeWrite(db *gorm.DB) { p.route(db, opWrite, true) }

// routeQuery: a model read may go to a replica; raw SQL and locking reads go
// to the primary unless the mode says otherwise. Raw SQL is never routed by
// guessing from its text: SELECT nextval(...) is a write.
func (p *Plugin) routeQuery(db *gorm.DB) {
	op := opRead
	if db.Statement.SQL.Len() > 0 {
		op = opWrite
	} else if _, locking := db.Statement.Clauses["FOR"]; locking {
		op = opWrite
	}
	p.route(db, op, false)
}

// routeRow serves Row, Rows and Scan. A *sql.Row cannot carry a routing
// error, so when no node can take a single-row query the error is set here.
func (p *Plugin) routeRow(db *gorm.DB) {
	p.routeQuery(db)
	if db.Error != nil {
		return
	}
	if r, ok := db.Statement.ConnPool.(*route); ok {
		if rows, _ := db.Get("rows"); rows != true {
			if _, err := r.pick(0); err != nil {
				db.AddError(err)
			}
		}
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
	mode := modeOf(stmt)
	if keep, err := kept(stmt, mode, write); keep {
		if err != nil {
			db.AddError(err)
		}
		return
	}
	if write && mode == ReadOnly {
		db.AddError(refusal(stmt))
		return
	}
	r := p.routes[mode][op]
	if wantsPrepared(stmt.ConnPool) {
		r = r.prepared
	}
	stmt.ConnPool = r
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

// beginIfNeeded opens GORM's default transaction only for statements that
// may run several statements: saving associations or running hooks.
func beginIfNeeded(db *gorm.DB) {
	if needsTransaction(db.Statement) {
		callbacks.BeginTransaction(db)
	}
}

func needsTransaction(stmt *gorm.Statement) bool {
	s := stmt.Schema
	if s == nil {
		return false
	}
	if s.BeforeCreate || s.AfterCreate || s.BeforeSave || s.AfterSave ||
		s.BeforeUpdate || s.AfterUpdate || s.BeforeDelete || s.AfterDelete {
		return true
	}
	if len(s.Relationships.Relations) == 0 {
		return false
	}
	return hasAssociationValues(stmt, s)
}

// hasAssociationValues reports whether any relation field of the value being
// written is set, i.e. GORM would save associations.
func hasAssociationValues(stmt *gorm.Statement, s *schema.Schema) bool {
	rv := stmt.ReflectValue
	check := func(v reflect.Value) bool {
		for _, rel := range s.Relationships.Relations {
			if _, zero := rel.Field.ValueOf(stmt.Context, v); !zero {
				return true
			}
		}
		return false
	}
	switch rv.Kind() {
	case reflect.Struct:
		return check(rv)
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			v := reflect.Indirect(rv.Index(i))
			if v.Kind() == reflect.Struct && check(v) {
				return true
			}
		}
		return false
	}
	return true
}
