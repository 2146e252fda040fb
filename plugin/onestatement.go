package plugin

import (
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// GORM wraps every create, update and delete in a transaction: BEGIN and
// COMMIT are two round trips more for a statement that is atomic by itself.
// The plugin skips that transaction only where it can prove GORM runs exactly
// one statement; everywhere else GORM's transaction is kept as GORM opens it
// (callbacks.BeginTransaction, which also honours SkipDefaultTransaction).

// writeKind is the GORM processor a statement runs through.
type writeKind uint8

const (
	kindCreate writeKind = iota
	kindUpdate
	kindDelete
)

func beginCreate(db *gorm.DB) { beginUnlessOne(db, kindCreate) }
func beginUpdate(db *gorm.DB) { beginUnlessOne(db, kindUpdate) }
func beginDelete(db *gorm.DB) { beginUnlessOne(db, kindDelete) }

func beginUnlessOne(db *gorm.DB, kind writeKind) {
	if !oneStatement(db.Statement, kind) {
		callbacks.BeginTransaction(db)
	}
}

// oneStatement reports whether GORM runs exactly one statement for stmt: no
// hook will run, no association is selected for a cascade, and the values
// written carry no association GORM would save. Anything it cannot read
// (an unexpected value, a panic while reflecting on it) counts as "several".
func oneStatement(stmt *gorm.Statement, kind writeKind) (one bool) {
	defer func() {
		if recover() != nil {
			one = false
		}
	}()
	s := stmt.Schema
	if s == nil {
		// No model: GORM runs no hook and saves no association.
		return true
	}
	if !stmt.SkipHooks && hasHooks(s, kind) {
		return false
	}
	if selectsAssociation(stmt, s) {
		return false
	}
	if kind == kindDelete {
		// A delete touches associations only when they are selected.
		return true
	}
	if kind == kindCreate && mapValues(stmt.ReflectValue) {
		// GORM's INSERT ... RETURNING fails to scan into a map after the row
		// was written; only GORM's transaction takes the row back.
		return false
	}
	if !hasRelations(s) {
		return true
	}
	if kind == kindUpdate && stmt.Model != nil && stmt.Model != stmt.Dest {
		// GORM saves the associations of the model being updated too.
		if !noAssociationValues(stmt, s, reflect.ValueOf(stmt.Model)) {
			return false
		}
	}
	return noAssociationValues(stmt, s, stmt.ReflectValue)
}

func hasHooks(s *schema.Schema, kind writeKind) bool {
	switch kind {
	case kindCreate:
		return s.BeforeSave || s.BeforeCreate || s.AfterCreate || s.AfterSave
	case kindUpdate:
		return s.BeforeSave || s.BeforeUpdate || s.AfterUpdate || s.AfterSave
	default:
		return s.BeforeDelete || s.AfterDelete
	}
}

// ownRelations are s's relations. Relationships.Relations is not used: it
// also holds back-references whose field belongs to another model, and GORM
// adds to it while it parses other models.
func ownRelations(s *schema.Schema) [][]*schema.Relationship {
	r := &s.Relationships
	return [][]*schema.Relationship{r.BelongsTo, r.HasOne, r.HasMany, r.Many2Many}
}

func hasRelations(s *schema.Schema) bool {
	for _, rels := range ownRelations(s) {
		if len(rels) > 0 {
			return true
		}
	}
	return false
}

// isRelation reports whether name is one of s's associations, or a column of
// one ("Pets.Name").
func isRelation(s *schema.Schema, name string) bool {
	name, _, _ = strings.Cut(name, ".")
	for _, rels := range ownRelations(s) {
		for _, rel := range rels {
			if rel.Name == name {
				return true
			}
		}
	}
	return false
}

// selectsAssociation reports whether Select names an association or
// clause.Associations: GORM then saves or deletes it.
func selectsAssociation(stmt *gorm.Statement, s *schema.Schema) bool {
	for _, sel := range stmt.Selects {
		if sel == clause.Associations || isRelation(s, sel) {
			return true
		}
	}
	return false
}

// mapValues reports whether v is a map or a slice or array of maps (or of
// interfaces, which may hold maps).
func mapValues(v reflect.Value) bool {
	t := v.Type()
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Map || t.Kind() == reflect.Interface
}

// noAssociationValues reports whether v (a model struct, a map, or a slice
// or array of them) sets no association of s.
func noAssociationValues(stmt *gorm.Statement, s *schema.Schema, v reflect.Value) bool {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() != s.ModelType {
			return false
		}
		for _, rels := range ownRelations(s) {
			for _, rel := range rels {
				if _, zero := rel.Field.ValueOf(stmt.Context, v); !zero {
					return false
				}
			}
		}
		return true
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return false
		}
		for _, k := range v.MapKeys() {
			if isRelation(s, k.String()) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if !noAssociationValues(stmt, s, v.Index(i)) {
				return false
			}
		}
		return true
	}
	return false
}
