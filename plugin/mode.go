package plugin

import (
	"context"
	"fmt"
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
	stmt.Clauses[modeClause] = clause.Clause{Expression: m}
	if p := fromDB(stmt.DB); p != nil && int(m) < modeCount {
		// A transaction or a pinned connection (db.Connection) keeps its
		// pool: the mode then only decides what may run on it.
		if keep, _ := kept(stmt, m, false); !keep {
			e := p.entries[m]
			if wantsPrepared(stmt.ConnPool) {
				e = e.prepared
			}
			stmt.ConnPool = e
		}
	}
}

// Build implements clause.Expression; a mode writes nothing.
func (Mode) Build(clause.Builder) {}

// modeOf returns the statement's mode: its mode clause, else the mode of the
// call it belongs to (carried by its context), else Auto.
func modeOf(stmt *gorm.Statement) Mode {
	if c, ok := stmt.Clauses[modeClause]; ok {
		if m, ok := c.Expression.(Mode); ok {
			return m
		}
	}
	return ctxMode(stmt.Context)
}

// modeKey carries a call's mode in its statements' context. GORM runs
// preloads, hooks, association saves and FindInBatches' callbacks in new
// sessions that drop the mode clause but keep the context, so the mode
// reaches every statement GORM runs for one call.
type modeKey struct{}

func ctxMode(ctx context.Context) Mode {
	if ctx == nil {
		return Auto
	}
	m, _ := ctx.Value(modeKey{}).(Mode)
	return m
}

// carryMode makes stmt's context carry mode for the statements GORM derives
// from it. Auto statements of Auto calls allocate nothing.
func carryMode(stmt *gorm.Statement, mode Mode) {
	if stmt.Context != nil && ctxMode(stmt.Context) != mode {
		stmt.Context = context.WithValue(stmt.Context, modeKey{}, mode)
	}
}

// fromDB finds the plugin installed on db, or nil.
func fromDB(db *gorm.DB) *Plugin {
	if db == nil || db.Config == nil {
		return nil
	}
	p, _ := db.Config.Plugins[Name].(*Plugin)
	return p
}
