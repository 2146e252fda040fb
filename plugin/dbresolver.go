package plugin

import "gorm.io/gorm"

// gorm.io/plugin/dbresolver's clauses, honoured as they stand in an
// application's code: dbresolver.Write is ReadWrite, dbresolver.Read is
// ReadOnly, and dbresolver.Use(name) is OnCluster(name) (placement.go reads
// its clause). Each of them, when applied (db.Clauses), calls the query
// callback named "gorm:db_resolver" if one is registered. The plugin
// registers one, last in the query chain, where it returns at once (the
// statement's SQL is built by then): a function call per query, no lookup,
// no allocation. Called by a clause (no SQL yet), dbresolverClause gives
// the statement the mode and the cluster's entry pool, so that a
// transaction begun from it begins where dbresolver would have begun it.
const (
	dbresolverCallback = "gorm:db_resolver"
	dbresolverWrite    = "gorm:db_resolver:write"
	dbresolverRead     = "gorm:db_resolver:read"
)

func (p *Plugin) registerDBResolver(db *gorm.DB) error {
	return db.Callback().Query().After("gorm:after_query").Register(dbresolverCallback, p.dbresolverClause)
}

// dbresolverClause applies the dbresolver clauses of db's statement.
func (p *Plugin) dbresolverClause(db *gorm.DB) {
	stmt := db.Statement
	if stmt == nil || stmt.SQL.Len() > 0 || stmt.Clauses == nil {
		return // in the query chain: the statement ran
	}
	if _, ok := stmt.Settings.Load(dbresolverWrite); ok {
		ReadWrite.ModifyStatement(stmt)
		return
	}
	if _, ok := stmt.Settings.Load(dbresolverRead); ok {
		ReadOnly.ModifyStatement(stmt)
		return
	}
	// dbresolver.Use alone: the named cluster's entry pool of the
	// statement's mode.
	m := modeOf(stmt)
	if !m.valid() {
		return
	}
	if keep, _ := kept(stmt, m, false); !keep {
		e := p.entryFor(stmt, m)
		if wantsPrepared(stmt.ConnPool) {
			e = e.prepared
		}
		stmt.ConnPool = e
	}
}
