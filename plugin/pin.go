package plugin

import "gorm.io/gorm"

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
	case *txConn:
		readOnly = readOnly || cp.readOnly
	}
	if write && readOnly && !isSavepoint(stmt.SQL.String()) {
		return true, refusal(stmt)
	}
	return true, nil
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
