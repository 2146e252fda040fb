package plugin

import (
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
// installed and the statement is not inside a transaction, it also points the
// statement at the mode's entry pool, so that db.Clauses(mode).Transaction(...)
// begins on the right pool.
func (m Mode) ModifyStatement(stmt *gorm.Statement) {
	stmt.Clauses[modeClause] = clause.Clause{Expression: m}
	if p := fromDB(stmt.DB); p != nil && int(m) < modeCount {
		if _, inTx := stmt.ConnPool.(gorm.TxCommitter); !inTx {
			stmt.ConnPool = p.entries[m]
		}
	}
}

// Build implements clause.Expression; a mode writes nothing.
func (Mode) Build(clause.Builder) {}

// modeOf returns the statement's mode, Auto when none was set.
func modeOf(stmt *gorm.Statement) Mode {
	if c, ok := stmt.Clauses[modeClause]; ok {
		if m, ok := c.Expression.(Mode); ok {
			return m
		}
	}
	return Auto
}

// fromDB finds the plugin installed on db, or nil.
func fromDB(db *gorm.DB) *Plugin {
	if db == nil || db.Config == nil {
		return nil
	}
	p, _ := db.Config.Plugins[Name].(*Plugin)
	return p
}
