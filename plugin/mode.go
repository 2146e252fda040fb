package plugin

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Mode says where a statement goes. It is a GORM clause expression that emits
// no SQL: db.Clauses(plugin.ReadOnly) only marks the statement.
type Mode uint8

const (
	// Auto sends model reads to a replica and everything else to the primary.
	Auto Mode = iota
	// ReadOnly sends everything to replicas (the primary as fallback) over
	// read-only sessions, and refuses writes with ErrReadOnly.
	ReadOnly
	// ReadWrite sends everything to the primary.
	ReadWrite
	// Batch sends everything to the primary's Batch pool.
	Batch
	// Transactional sends everything to the primary's Transactional pool.
	Transactional

	modeCount = iota
)

// modeClause is the key under which a Mode is kept in Statement.Clauses. GORM
// builds only the clauses a processor names, so it never reaches the SQL.
const modeClause = "unifieddb:mode"

var modeNames = [modeCount]string{"auto", "read_only", "read_write", "batch", "transactional"}

// String gives auto, read_only, read_write, batch or transactional.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// valid reports whether m is one of the five modes: every array indexed by
// mode has modeCount entries.
func (m Mode) valid() bool { return m < modeCount }

func (m Mode) invalid() error { return fmt.Errorf("%w: %s", ErrInvalidMode, m) }

// ParseMode reads a mode name back; it also takes the legacy names mcp
// (ReadWrite), ml (Batch), readonly (ReadOnly) and admin (Transactional).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return Auto, nil
	case "read_only", "readonly":
		return ReadOnly, nil
	case "read_write", "mcp":
		return ReadWrite, nil
	case "batch", "ml":
		return Batch, nil
	case "transactional", "admin":
		return Transactional, nil
	}
	return Auto, fmt.Errorf("unifieddb: unknown mode %q (want auto, read_only, read_write, batch or transactional)", s)
}

// ModifyStatement marks the statement with the mode. When the plugin is
// installed and the statement is neither inside a transaction nor on a
// pinned connection, it also points the statement at the mode's entry pool,
// so that db.Clauses(mode).Transaction(...) begins on the right pool.
func (m Mode) ModifyStatement(stmt *gorm.Statement) {
	if !m.valid() {
		stmt.AddError(m.invalid())
		return
	}
	stmt.Clauses[modeClause] = clause.Clause{Expression: m}
	if p := fromDB(stmt.DB); p != nil {
		// A transaction or a pinned connection (db.Connection) keeps its
		// pool: the mode then only decides what may run on it.
		if keep, _ := kept(stmt, m, false); !keep {
			e := p.entryFor(stmt, m)
			if wantsPrepared(stmt.ConnPool) {
				e = e.prepared
			}
			stmt.ConnPool = e
		}
	}
}

// InMode returns a new session of db in mode m: db.Clauses(m).Session(
// &gorm.Session{}), except that the mode rides on the session's ConnPool
// (Statement.ConnPool and Config.ConnPool are the mode's entry route) instead
// of a clause, so its statements have no clause to copy and their
// sub-statements find the mode without a new context (inherited). A
// db.Clauses(mode) on it still overrides. On a db inside a transaction or on
// a pinned connection, or without the plugin, it is db.Clauses(m).Session.
func InMode(db *gorm.DB, m Mode) *gorm.DB {
	p := fromDB(db)
	if p == nil || !m.valid() || db.Statement == nil {
		return db.Clauses(m).Session(&gorm.Session{})
	}
	if keep, _ := kept(db.Statement, m, false); keep {
		return db.Clauses(m).Session(&gorm.Session{})
	}
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	// A Context makes Session clone the Statement (and Config, always), so
	// that setting the pools leaves db alone.
	tx := db.Session(&gorm.Session{Context: ctx})
	delete(tx.Statement.Clauses, modeClause) // the new mode replaces db's
	e := p.entry(m)
	if wantsPrepared(tx.Statement.ConnPool) {
		e = e.prepared
	}
	tx.Statement.ConnPool = e
	// GORM puts Config.ConnPool back after its default transaction and wraps
	// it for Session{PrepareStmt: true}; db.Connection's statements run on
	// a *sql.Conn that says no mode.
	tx.Config.ConnPool = e
	return tx
}

// Build implements clause.Expression; a mode writes nothing.
func (Mode) Build(clause.Builder) {}

// modeOf returns the statement's mode: its mode clause, else the mode it
// inherits (inherited).
func modeOf(stmt *gorm.Statement) Mode {
	m, _ := clauseMode(stmt)
	return m
}

// clauseMode is modeOf, and whether the mode came from a clause (else it
// was inherited).
func clauseMode(stmt *gorm.Statement) (Mode, bool) {
	if c, ok := stmt.Clauses[modeClause]; ok {
		if m, ok := c.Expression.(Mode); ok {
			return m, true
		}
	}
	return inherited(stmt), false
}

// inherited is the mode of a statement without a mode clause. GORM runs
// preloads, hooks, association saves and FindInBatches' callbacks in new
// sessions that drop the clauses but keep the statement's ConnPool, its
// context and its Config, so the mode is found in them, in this order:
//
//   - a mark carryMode left in the context for this very ConnPool (a
//     statement whose pool could not say its mode: a mode clause inside a
//     transaction or on a pinned connection);
//   - the ConnPool's own mode: the route a mode's handle or the routing
//     callback set, the transaction begun on one (an Auto one says nothing);
//   - for a connection the plugin does not know (db.Connection's *sql.Conn,
//     a *sql.Tx begun on it), the mode of the session's Config.ConnPool: a
//     handle made by InMode keeps its mode there;
//   - a mark for any pool (pool nil: the ConnPool could not be compared);
//   - Auto: a mark for another pool is not this statement's.
func inherited(stmt *gorm.Statement) Mode {
	m, known := poolMode(stmt.ConnPool)
	if _, r := stmt.ConnPool.(*route); r && m != Auto {
		// carryMode never marks a context for a route of another mode: no
		// context lookup on the common path.
		return m
	}
	mk, marked := ctxMark(stmt.Context)
	if marked && mk.pool != nil && samePool(mk.pool, stmt.ConnPool) {
		return mk.mode
	}
	if known && m != Auto {
		return m
	}
	if !known && stmt.DB != nil && stmt.DB.Config != nil {
		if m, _ := poolMode(stmt.DB.Config.ConnPool); m != Auto {
			return m
		}
	}
	if mk.pool == nil {
		return mk.mode
	}
	// A mark for another pool (a transaction's, a pinned connection's) stays
	// with it: a new handle made from that statement's context (a hook's
	// tx.Statement.Context) starts in its own mode.
	return Auto
}

// poolMode is the mode a ConnPool of the plugin serves, and whether it is
// one: a route (GORM's prepared-statement wrapper around one too) or a
// transaction begun on one.
func poolMode(cp gorm.ConnPool) (Mode, bool) {
	switch c := cp.(type) {
	case *route:
		return c.mode, true
	case *gorm.PreparedStmtDB:
		if r, ok := c.ConnPool.(*route); ok {
			return r.mode, true
		}
	case *sql.Tx, *gorm.PreparedStmtTX:
		if st := txOf(c); st != nil {
			return st.mode, true
		}
	}
	return Auto, false
}

// samePool reports whether a and b are the same ConnPool, without the panic
// of == on two values of one incomparable type.
func samePool(a, b gorm.ConnPool) bool {
	if b == nil || reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}

// modeKey carries a mark in a statement's context.
type modeKey struct{}

// modeMark is the mode of a call, for the statements GORM derives from it
// (inherited); pool is the ConnPool the call ran on (nil: any).
type modeMark struct {
	mode Mode
	pool gorm.ConnPool
}

func ctxMark(ctx context.Context) (modeMark, bool) {
	if ctx == nil {
		return modeMark{}, false
	}
	mk, ok := ctx.Value(modeKey{}).(modeMark)
	return mk, ok
}

// carryMode makes sure that the statements GORM derives from stmt (same
// ConnPool, context and Config, no clauses) inherit mode. Call it once
// stmt.ConnPool is final. Most statements need nothing: the route the
// callback set, or the transaction, says the mode; only a statement whose
// pool cannot say it gets a new context, marked for that pool.
func carryMode(stmt *gorm.Statement, mode Mode) {
	if stmt.Context == nil || inherited(stmt) == mode {
		return
	}
	var pool gorm.ConnPool
	if stmt.ConnPool != nil && reflect.TypeOf(stmt.ConnPool).Comparable() {
		pool = stmt.ConnPool
	}
	stmt.Context = context.WithValue(stmt.Context, modeKey{}, modeMark{mode: mode, pool: pool})
}

// fromDB finds the plugin installed on db, or nil.
func fromDB(db *gorm.DB) *Plugin {
	if db == nil || db.Config == nil {
		return nil
	}
	p, _ := db.Config.Plugins[Name].(*Plugin)
	return p
}
