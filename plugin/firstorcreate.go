package plugin

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// readBeforeWrite reports whether stmt is the read of FirstOrCreate or
// FirstOrInit. What they read decides what they write, so in Auto the read
// must go where the write goes, the primary: a lagging replica would make
// FirstOrCreate insert a row that already exists.
//
// GORM builds that read (finisher_api.go) as Limit(1) plus an ORDER BY ending
// on the current table's primary key, ascending, without the not-found error
// First sets. A hand-written query of exactly that shape also reads the
// primary, which costs nothing in correctness.
func readBeforeWrite(stmt *gorm.Statement) bool {
	if stmt.RaiseErrorOnNotFound {
		return false
	}
	lc, ok := stmt.Clauses["LIMIT"]
	if !ok {
		return false
	}
	if l, ok := lc.Expression.(clause.Limit); !ok || l.Limit == nil || *l.Limit != 1 {
		return false
	}
	oc, ok := stmt.Clauses["ORDER BY"]
	if !ok {
		return false
	}
	ob, ok := oc.Expression.(clause.OrderBy)
	if !ok || len(ob.Columns) == 0 {
		return false
	}
	last := ob.Columns[len(ob.Columns)-1]
	return !last.Desc && last.Column.Table == clause.CurrentTable && last.Column.Name == clause.PrimaryKey
}
