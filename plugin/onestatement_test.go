package plugin

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// owner has many pets at a field index a pet does not have: parsing it adds
// the back-reference "_owner_Pets" (with the owner's field) to the pet's
// Relations.
type owner struct {
	ID, A, B, C, D uint
	Pets           []pet `gorm:"foreignKey:OwnerID"`
}

type pet struct {
	ID      uint
	OwnerID uint
	Toys    []toy `gorm:"foreignKey:PetID"`
}

type toy struct {
	ID    uint
	PetID uint
}

type hooked struct{ ID uint }

func (*hooked) BeforeCreate(*gorm.DB) error { return nil }

func statement(t *testing.T, cache *sync.Map, model, dest any, selects ...string) *gorm.Statement {
	t.Helper()
	s, err := schema.Parse(model, cache, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	return &gorm.Statement{
		Schema: s, Model: model, Dest: dest, Selects: selects, Context: context.Background(),
		ReflectValue: reflect.Indirect(reflect.ValueOf(dest)),
	}
}

func TestOneStatement(t *testing.T) {
	cache := &sync.Map{}
	statement(t, cache, &owner{}, &owner{}) // registers the back-reference in pet's schema
	if _, ok := statement(t, cache, &pet{}, &pet{}).Schema.Relationships.Relations["_owner_Pets"]; !ok {
		t.Fatal("the test needs GORM's back-reference in pet's relations")
	}
	p := &pet{OwnerID: 1}
	cases := []struct {
		name string
		stmt *gorm.Statement
		kind writeKind
		one  bool
	}{
		{"a pet alone", statement(t, cache, p, p), kindCreate, true},
		{"a pet with toys", statement(t, cache, &pet{}, &pet{Toys: []toy{{}}}), kindCreate, false},
		{"pets, one with toys", statement(t, cache, &pet{}, &[]pet{{}, {Toys: []toy{{}}}}), kindCreate, false},
		{"pets without toys", statement(t, cache, &pet{}, &[]*pet{{}, {}}), kindCreate, true},
		{"an array of pets", statement(t, cache, &pet{}, &[2]pet{}), kindCreate, true},
		{"create from a map", statement(t, cache, &pet{}, map[string]any{"owner_id": 1}), kindCreate, false},
		{"create from maps", statement(t, cache, &pet{}, []map[string]any{{"owner_id": 1}}), kindCreate, false},
		{"update from a map", statement(t, cache, &pet{ID: 1}, map[string]any{"owner_id": 1}), kindUpdate, true},
		{"update setting an association", statement(t, cache, &pet{ID: 1}, map[string]any{"Toys": []toy{{}}}), kindUpdate, false},
		{"update of a model holding toys", statement(t, cache, &pet{ID: 1, Toys: []toy{{}}}, map[string]any{"owner_id": 1}), kindUpdate, false},
		{"another struct type", statement(t, cache, &pet{}, &toy{}), kindCreate, false},
		{"delete", statement(t, cache, &owner{}, &owner{ID: 1, Pets: []pet{{}}}), kindDelete, true},
		{"delete selecting pets", statement(t, cache, &owner{}, &owner{ID: 1}, "Pets"), kindDelete, false},
		{"delete selecting associations", statement(t, cache, &owner{}, &owner{ID: 1}, clause.Associations), kindDelete, false},
		{"update selecting a pet column", statement(t, cache, &owner{}, &owner{ID: 1}, "Pets.OwnerID"), kindUpdate, false},
		{"update selecting a column", statement(t, cache, &owner{}, &owner{ID: 1}, "A"), kindUpdate, true},
		{"hooks", statement(t, cache, &hooked{}, &hooked{}), kindCreate, false},
		{"no model", &gorm.Statement{Context: context.Background()}, kindCreate, true},
		{"an unreadable value", &gorm.Statement{Schema: statement(t, cache, &pet{}, &pet{}).Schema}, kindCreate, false},
	}
	for _, c := range cases {
		if got := oneStatement(c.stmt, c.kind); got != c.one {
			t.Errorf("%s: oneStatement = %v, want %v", c.name, got, c.one)
		}
	}
	skip := statement(t, cache, &hooked{}, &hooked{})
	skip.SkipHooks = true
	if !oneStatement(skip, kindCreate) {
		t.Error("hooks skipped: one statement")
	}
}

func TestReadBeforeWrite(t *testing.T) {
	one := 1
	pk := clause.OrderByColumn{Column: clause.Column{Table: clause.CurrentTable, Name: clause.PrimaryKey}}
	stmt := func(limit *int, order ...clause.OrderByColumn) *gorm.Statement {
		s := &gorm.Statement{Clauses: map[string]clause.Clause{}}
		if limit != nil {
			s.AddClause(clause.Limit{Limit: limit})
		}
		if len(order) > 0 {
			s.AddClause(clause.OrderBy{Columns: order})
		}
		return s
	}
	if !readBeforeWrite(stmt(&one, clause.OrderByColumn{Column: clause.Column{Name: "name"}}, pk)) {
		t.Error("FirstOrCreate's read not recognised")
	}
	first := stmt(&one, pk)
	first.RaiseErrorOnNotFound = true
	two := 2
	desc := pk
	desc.Desc = true
	for name, s := range map[string]*gorm.Statement{
		"First": first, "Last": stmt(&one, desc), "Find": stmt(nil), "no order": stmt(&one),
		"limit 2": stmt(&two, pk), "order by name": stmt(&one, clause.OrderByColumn{Column: clause.Column{Name: "name"}}),
	} {
		if readBeforeWrite(s) {
			t.Errorf("%s taken for FirstOrCreate's read", name)
		}
	}
}
