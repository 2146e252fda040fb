package plugin

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// kept handles a statement whose pool the plugin must not re-route: a
// transaction (every statement stays on its connection), or a connection the
// caller pinned with db.Connection or brought itself (session state such as
// SET, advisory locks and temporary tables lives on it). It reports whether
// the statement is kept where it is, with the refusal of a write that may not
// run there.
func kept(stmt *gorm.Statement, mode Mode, write bool) (bool, error) {
	readOnly := mode == ReadOnly
	switch cp := stmt.ConnPool.(type) {
	case nil, *route:
		return false, nil
	case *gorm.PreparedStmtDB:
		if preparedOver(cp) {
			return false, nil
		}
	case *sql.Tx, *gorm.PreparedStmtTX:
		if st := txOf(cp); st != nil {
			readOnly = readOnly || st.readOnly
		}
	}
	if write && readOnly && !isSavepoint(stmt.SQL.String()) {
		return true, refusal(stmt)
	}
	return true, nil
}

// pin gives a statement on a pinned connection (db.Connection's *sql.Conn)
// the bookkeeping of a routed one: its driver connection is marked as
// pinned, and the statement's context says its mode and whether it may
// write (see drvConn.watch). A connection that is not one of the plugin's
// ignores both.
func pin(stmt *gorm.Statement, mode Mode, op opKind) {
	c, ok := stmt.ConnPool.(*sql.Conn)
	if !ok || stmt.Context == nil {
		return
	}
	// Raw only takes the connection's lock; nothing is sent. An error (the
	// connection was closed) shows when the statement runs.
	_ = c.Raw(func(dc any) error {
		if d, ok := dc.(*drvConn); ok {
			d.pinned = true
		}
		return nil
	})
	stmt.Context = context.WithValue(stmt.Context, pinKey{}, pinMark{mode: mode, write: op == opWrite && mode != ReadOnly})
}

// wantsPrepared reports whether the statement asked for prepared statements:
// GORM's wrapper around a route, or a prepared route set by an earlier
// statement of the same chain.
func wantsPrepared(cp gorm.ConnPool) bool {
	if r, ok := cp.(*route); ok {
		return r.prep
	}
	return preparedOver(cp)
}
