// Package registry keeps the set of GORM models the data layer knows about: it parses each
// model's schema once, detects two types mapping to one table, orders models so that a model
// comes after the models its foreign keys point to, and auto-migrates them in that order.
package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Registry is a set of models. The zero value is not usable; call [New]. A Registry is safe for
// concurrent use.
type Registry struct {
	// Settings, fixed after New/Clone.
	strict   bool
	logger   *slog.Logger
	namer    schema.Namer
	namerSet bool // WithNamer was applied (Clone re-parses then)
	cache    *sync.Map

	mu        sync.RWMutex
	entries   []*entry // registration order
	byType    map[reflect.Type]*entry
	byTable   map[string]*entry
	conflicts []Conflict
	placed    map[reflect.Type]string // model -> cluster (Place)
}

type entry struct {
	typ   reflect.Type
	name  string // fully qualified type name
	table string
	deps  []string // tables this model's foreign keys point to (belongs-to)
	refBy []string // tables whose foreign keys point to this model's table (has-one, has-many)
}

var defaultRegistry = New()

// Default returns the package's default registry, the one [Register] adds to. It is not strict.
func Default() *Registry { return defaultRegistry }

// Register adds models to the default registry; see [Registry.Register].
func Register(models ...any) error { return defaultRegistry.Register(models...) }

// New returns an empty registry. By default it is not strict, logs with slog.Default() and
// names tables with schema.NamingStrategy{}.
func New(opts ...Option) *Registry {
	r := &Registry{namer: schema.NamingStrategy{}}
	for _, opt := range opts {
		if opt != nil {
			opt(r)
		}
	}
	r.cache = &sync.Map{}
	r.byType = make(map[reflect.Type]*entry)
	r.byTable = make(map[string]*entry)
	return r
}

// Strict reports whether table conflicts are errors.
func (r *Registry) Strict() bool { return r.strict }

// Clone returns a new registry holding r's models and recorded conflicts, with r's settings
// overridden by opts. Models keep their registration order. When opts include [WithNamer] the
// models are parsed again with the new namer; a model that then fails or conflicts is dropped
// and logged (Clone never fails). Strictness applies to later registrations only: conflicts
// already recorded in r are carried over, not turned into errors.
func (r *Registry) Clone(opts ...Option) *Registry {
	c := &Registry{strict: r.strict, logger: r.logger, namer: r.namer}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	c.byType = make(map[reflect.Type]*entry)
	c.byTable = make(map[string]*entry)

	r.mu.RLock()
	entries := append([]*entry(nil), r.entries...)
	conflicts := append([]Conflict(nil), r.conflicts...)
	if len(r.placed) > 0 {
		c.placed = make(map[reflect.Type]string, len(r.placed))
		for t, name := range r.placed {
			c.placed[t] = name
		}
	}
	r.mu.RUnlock()

	if !c.namerSet {
		c.cache = r.cache // same namer: the parsed schemas are valid for both
		c.conflicts = conflicts
		for _, e := range entries {
			c.add(e)
		}
		return c
	}
	c.cache = &sync.Map{}
	c.conflicts = conflicts
	for _, e := range entries {
		ne, err := c.parse(reflect.New(e.typ).Interface())
		if err == nil {
			_, err = c.commit([]*entry{ne}, false)
		}
		if err != nil {
			c.log().Warn("registry: model dropped while cloning with a new namer",
				slog.String("model", e.name), slog.Any("error", err))
		}
	}
	return c
}

// Register adds models, given as struct values or pointers to structs (a pointer and a value of
// one type are the same model). Registering a type that is already registered is a no-op.
//
// The call is all or nothing: if any model is invalid (the error wraps [ErrInvalidModel] and
// names the type and, when GORM gives one, the field), or, in strict mode, conflicts with
// another type over a table (the error wraps [ErrConflict] and names both types), nothing from
// this call is registered and every problem is reported. Outside strict mode a conflict is not
// an error: the type registered first wins, a warning is logged and the conflict is recorded.
func (r *Registry) Register(models ...any) error {
	parsed := make([]*entry, 0, len(models))
	var errs []error
	for _, m := range models {
		e, err := r.parse(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parsed = append(parsed, e)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	_, err := r.commit(parsed, r.strict)
	return err
}

// commit adds parsed entries under the lock. In strict mode any conflict fails the whole batch.
// It returns the entries actually added.
func (r *Registry) commit(batch []*entry, strict bool) ([]*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	// Resolve the batch against the registry and against itself before changing anything.
	var (
		add       []*entry
		conflicts []Conflict
		errs      []error
		seenType  = make(map[reflect.Type]bool)
		seenTable = make(map[string]*entry)
	)
	for _, e := range batch {
		if _, ok := r.byType[e.typ]; ok || seenType[e.typ] {
			continue // already registered: no-op
		}
		seenType[e.typ] = true
		kept := r.byTable[e.table]
		if kept == nil {
			kept = seenTable[e.table]
		}
		if kept != nil {
			if strict {
				errs = append(errs, fmt.Errorf("%w: table %q: %s is registered, %s refused",
					ErrConflict, e.table, kept.name, e.name))
			}
			conflicts = append(conflicts, Conflict{Table: e.table, Kept: kept.name, Rejected: e.name})
			continue
		}
		seenTable[e.table] = e
		add = append(add, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, e := range add {
		r.add(e)
	}
	for _, c := range conflicts {
		if r.hasConflict(c) {
			continue
		}
		r.conflicts = append(r.conflicts, c)
		r.log().Warn("registry: two types map to one table; keeping the first",
			slog.String("table", c.Table), slog.String("kept", c.Kept), slog.String("rejected", c.Rejected))
	}
	return add, nil
}

func (r *Registry) add(e *entry) {
	r.entries = append(r.entries, e)
	r.byType[e.typ] = e
	r.byTable[e.table] = e
}

func (r *Registry) hasConflict(c Conflict) bool {
	for _, have := range r.conflicts {
		if have == c {
			return true
		}
	}
	return false
}

// parse validates one model and parses its GORM schema. It takes no lock: schema.Parse and its
// sync.Map cache are safe for concurrent use.
func (r *Registry) parse(model any) (*entry, error) {
	if model == nil {
		return nil, fmt.Errorf("%w: nil model", ErrInvalidModel)
	}
	v := reflect.ValueOf(model)
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			// A typed nil pointer still names its type; GORM only needs the type.
			model = reflect.New(t.Elem()).Interface()
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %T is not a struct or a pointer to a struct", ErrInvalidModel, model)
	}
	if t.Name() == "" {
		return nil, fmt.Errorf("%w: %T is an unnamed struct type", ErrInvalidModel, model)
	}
	name := typeName(t)
	s, err := schema.Parse(model, r.cache, r.namer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, name, err)
	}
	if len(s.PrimaryFields) == 0 {
		return nil, fmt.Errorf("%w: %s has no primary key (add an ID field or a `gorm:\"primaryKey\"` tag)",
			ErrInvalidModel, name)
	}
	if s.Table == "" {
		return nil, fmt.Errorf("%w: %s maps to an empty table name", ErrInvalidModel, name)
	}
	e := &entry{typ: t, name: name, table: s.Table}
	// Read the schema's own relation slices, not Relationships.Relations: GORM adds entries to
	// that map (and finishes them) from other goroutines parsing related models.
	for _, rel := range s.Relationships.BelongsTo {
		if rel.FieldSchema != nil && rel.FieldSchema.Table != s.Table { // self-references do not order
			e.deps = append(e.deps, rel.FieldSchema.Table)
		}
	}
	for _, rels := range [][]*schema.Relationship{s.Relationships.HasOne, s.Relationships.HasMany} {
		for _, rel := range rels {
			if rel.FieldSchema != nil && rel.FieldSchema.Table != s.Table {
				e.refBy = append(e.refBy, rel.FieldSchema.Table)
			}
		}
	}
	return e, nil
}

// Lookup reports the table a registered type maps to. model may be a value or a pointer (nil
// pointers are fine); ok is false when the type is not registered. It never parses.
func (r *Registry) Lookup(model any) (table string, ok bool) {
	if model == nil {
		return "", false
	}
	t := reflect.TypeOf(model)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if e, ok := r.byType[t]; ok {
		return e.table, true
	}
	return "", false
}

// Conflicts returns the conflicts recorded outside strict mode, in the order they were seen.
func (r *Registry) Conflicts() []Conflict {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]Conflict(nil), r.conflicts...)
}

// Models returns a new zero value (a pointer to the struct) of every registered model, in
// dependency order: see [Registry.Tables].
func (r *Registry) Models() []any {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ordered := r.ordered()
	out := make([]any, len(ordered))
	for i, e := range ordered {
		out[i] = reflect.New(e.typ).Interface()
	}
	return out
}

// Tables returns the table of every registered model, in dependency order: a table comes after
// the tables its foreign keys point to; otherwise registration order is kept. A cycle is broken
// at the earliest-registered model in it.
func (r *Registry) Tables() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ordered := r.ordered()
	out := make([]string, len(ordered))
	for i, e := range ordered {
		out[i] = e.table
	}
	return out
}

// AutoMigrate runs db.Migrator().AutoMigrate for every registered model, one at a time, in
// [Registry.Models] order, and stops at the first failure with an error naming the model. db's
// NamingStrategy should match the registry's namer.
func (r *Registry) AutoMigrate(db *gorm.DB) error {
	return r.AutoMigrateWhere(db, nil)
}

// AutoMigrateWhere is AutoMigrate of the models keep accepts (nil: all), as
// a pointer to a zero value: the models of one cluster, say.
func (r *Registry) AutoMigrateWhere(db *gorm.DB, keep func(model any) bool) error {
	if db == nil {
		return errors.New("registry: AutoMigrate: nil *gorm.DB")
	}
	r.mu.RLock()
	ordered := r.ordered()
	r.mu.RUnlock()
	for _, e := range ordered {
		if keep != nil && !keep(reflect.New(e.typ).Interface()) {
			continue
		}
		if err := db.Migrator().AutoMigrate(reflect.New(e.typ).Interface()); err != nil {
			return fmt.Errorf("registry: auto-migrate %s (table %q): %w", e.name, e.table, err)
		}
	}
	return nil
}

func (r *Registry) log() *slog.Logger {
	if r.logger != nil {
		return r.logger
	}
	return slog.Default()
}

func typeName(t reflect.Type) string {
	if t.PkgPath() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}
