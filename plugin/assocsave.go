package plugin

import (
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Association saves across clusters (issue 18). GORM saves a call's
// associations (callbacks.SaveBeforeAssociations, SaveAfterAssociations) as
// Creates of their own on the call's ConnPool: inside the transaction GORM
// began for the call (gorm:begin_transaction), on the parent's cluster. An
// associated model placed on another cluster cannot run there. When that
// transaction is GORM's own for this one call, the save leaves it and runs
// on its model's cluster like a call of its own: in the call's mode, in
// GORM's transaction there when it needs one, committed on its own. A
// transaction the application began (db.Transaction, Begin) keeps every
// statement: one placed on another cluster fails with *CrossClusterError.
//
// Atomicity across the two clusters is not GORM's: a save that committed on
// its cluster stays when the parent's transaction then fails. GORM's order
// keeps that rare: has-one, has-many and many2many rows are saved after the
// parent's own INSERT or UPDATE succeeded; belongs-to rows are saved before
// it, since the parent needs their keys.

// startedTx is the instance key GORM's BeginTransaction sets when it began a
// transaction for the call (gorm.io/gorm/callbacks/transaction.go).
const startedTx = "gorm:started_transaction"

// savedAssociations is the setting GORM's saveAssociations keeps on the
// call's statement and copies to each association save's statement
// (gorm.io/gorm/callbacks/associations.go): it marks an association save.
const savedAssociations = "gorm:saved_association_map"

// begin is the gorm:begin_transaction callback for kind. With several
// clusters it also marks the transaction GORM began for the call, so that
// the call's association saves may leave it; with one cluster it is the
// plain beginCreate, beginUpdate or beginDelete, nothing more.
func (p *Plugin) begin(kind writeKind) func(*gorm.DB) {
	if p.sites == nil {
		switch kind {
		case kindCreate:
			return beginCreate
		case kindUpdate:
			return beginUpdate
		}
		return beginDelete
	}
	return func(db *gorm.DB) {
		beginUnlessOne(db, kind)
		if _, began := db.InstanceGet(startedTx); !began {
			return // one statement, SkipDefaultTransaction, or inside a transaction already
		}
		if st := txOf(db.Statement.ConnPool); st != nil {
			st.implicit = true
		}
	}
}

// leavesCallTx reports whether stmt, refused in its transaction as placed on
// another cluster, runs on its own cluster instead: it is one of GORM's
// association saves (many2many join rows included) and the transaction is
// the one GORM began for the call.
func leavesCallTx(stmt *gorm.Statement) bool {
	st := txOf(stmt.ConnPool)
	if st == nil || !st.implicit {
		return false
	}
	if _, saving := stmt.Settings.Load(savedAssociations); saving {
		return true
	}
	return isJoinTable(stmt.Schema)
}

// isJoinTable reports whether s is a many2many join table GORM made itself
// (its model is an unnamed struct type built by reflection): GORM writes
// its rows without the association-save setting.
func isJoinTable(s *schema.Schema) bool {
	return s != nil && s.ModelType != nil && s.ModelType.Kind() == reflect.Struct && s.ModelType.Name() == ""
}
