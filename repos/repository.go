package repos

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

// defaultBatchSize is the rows per INSERT statement of CreateMany when
// neither WithBatchSize, the db's gorm.Config.CreateBatchSize nor the
// Manager's batch_size says.
const defaultBatchSize = 1000

// Option adjusts New.
type Option func(*options) error

type options struct {
	batchSize int
}

// WithBatchSize sets how many rows one INSERT statement of CreateMany carries
// when it cannot use COPY. n must be > 0. Default: the db's
// gorm.Config.CreateBatchSize when set, else the Manager's batch_size, else
// 1000.
func WithBatchSize(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("batch size must be > 0, got %d", n)
		}
		o.batchSize = n
		return nil
	}
}

// Repository gives the usual operations on one model T. It is safe for
// concurrent use. Build it with New on the Manager's DB; WithTx gives a copy
// bound to a transaction.
//
// Outside a transaction reads use Auto mode (a fresh-enough replica; with a
// datalayer.WithReadYourWrites context they see that context's writes),
// writes use ReadWrite (the primary) and CreateMany uses Batch (the
// primary's Batch pool). Inside a transaction every call runs on the
// transaction's connection, as is.
type Repository[T any] struct {
	db        *gorm.DB
	inTx      bool
	batchSize int
	schema    *schema.Schema
	pk        *schema.Field   // the single primary key; nil when there is none or several
	relations []*schema.Field // fields of associations GORM would save
	err       error           // a bad model, db or option: returned by every call
}

// New returns a repository of T on db, the Manager's DB (m.DB()). A bad db,
// model or option does not panic: every call then returns an error wrapping
// ErrInvalidArgument.
func New[T any](db *gorm.DB, opts ...Option) *Repository[T] {
	r := &Repository[T]{db: db}
	o := options{batchSize: defaultBatchSize}
	var errs []error
	if db == nil || db.Config == nil {
		errs = append(errs, errors.New("db is nil"))
	} else {
		if db.CreateBatchSize > 0 {
			o.batchSize = db.CreateBatchSize
		} else if n := plugin.BatchSize(db); n > 0 {
			o.batchSize = n // the Manager's batch_size
		}
		stmt := &gorm.Statement{DB: db}
		if k := reflect.TypeFor[T]().Kind(); k != reflect.Struct {
			errs = append(errs, fmt.Errorf("model %v is a %v, not a struct", reflect.TypeFor[T](), k))
		} else if err := stmt.Parse(new(T)); err != nil {
			errs = append(errs, fmt.Errorf("model %T: %w", *new(T), err))
		} else {
			r.schema = stmt.Schema
			if len(r.schema.PrimaryFields) == 1 {
				r.pk = r.schema.PrimaryFields[0]
			}
			r.relations = relationFields(r.schema)
		}
	}
	for _, opt := range opts {
		if opt != nil {
			if err := opt(&o); err != nil {
				errs = append(errs, err)
			}
		}
	}
	r.batchSize = o.batchSize
	if err := errors.Join(errs...); err != nil {
		r.err = invalid("new", r.table(), err.Error())
	}
	return r
}

// relationFields are the fields of s's associations. It reads the schema's
// own relation slices: GORM adds entries to Relationships.Relations of other
// schemas while it parses, so that map is not safe to range over.
func relationFields(s *schema.Schema) []*schema.Field {
	var fields []*schema.Field
	for _, rels := range [][]*schema.Relationship{s.Relationships.BelongsTo, s.Relationships.HasOne, s.Relationships.HasMany, s.Relationships.Many2Many} {
		for _, rel := range rels {
			fields = append(fields, rel.Field)
		}
	}
	return fields
}

// WithTx returns a copy of r whose calls all run on tx, the *gorm.DB of a
// transaction (m.Transaction(ctx, func(tx *gorm.DB) error { ... })). Use it to
// make several repositories one unit of work. No mode is applied: statements
// stay on the transaction's connection.
func (r *Repository[T]) WithTx(tx *gorm.DB) *Repository[T] {
	c := *r
	c.db, c.inTx = tx, true
	if tx == nil && c.err == nil {
		c.err = invalid("with_tx", r.table(), "tx is nil")
	}
	return &c
}

func (r *Repository[T]) table() string {
	if r.schema == nil {
		return ""
	}
	return r.schema.Table
}

// read is the handle for reads: Auto mode, or the transaction.
func (r *Repository[T]) read(ctx context.Context) *gorm.DB { return r.db.WithContext(ctx) }

// write is the handle for writes: ReadWrite mode, or the transaction.
func (r *Repository[T]) write(ctx context.Context) *gorm.DB { return r.mode(ctx, datalayer.ReadWrite) }

func (r *Repository[T]) mode(ctx context.Context, m datalayer.Mode) *gorm.DB {
	if r.inTx {
		return r.db.WithContext(ctx)
	}
	return r.db.WithContext(ctx).Clauses(m)
}

// check returns the repository's construction error, or an error when the
// operation needs a single primary key and the model has none.
func (r *Repository[T]) check(op string, needKey bool) error {
	if r.err != nil {
		return r.err
	}
	if needKey && r.pk == nil {
		return invalid(op, r.table(), "the model has no single primary key")
	}
	return nil
}

func (r *Repository[T]) fail(ctx context.Context, op string, err error) error {
	return translate(ctx, op, r.table(), err)
}

// keyIs is the condition "primary key = id".
func (r *Repository[T]) keyIs(id any) clause.Expression {
	return clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: r.pk.DBName}, Value: id}
}

// Get returns the row whose primary key is id. A missing row is an error
// wrapping ErrNotFound.
func (r *Repository[T]) Get(ctx context.Context, id any) (*T, error) {
	if err := r.check("get", true); err != nil {
		return nil, err
	}
	var v T
	if err := r.read(ctx).Where(r.keyIs(id)).Take(&v).Error; err != nil {
		return nil, r.fail(ctx, "get", err)
	}
	return &v, nil
}

// Count returns how many rows match every filter.
func (r *Repository[T]) Count(ctx context.Context, filters ...Filter) (int64, error) {
	if err := r.check("count", false); err != nil {
		return 0, err
	}
	db := r.read(ctx).Model(new(T))
	db, err := r.where(db, "count", filters)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := db.Count(&n).Error; err != nil {
		return 0, r.fail(ctx, "count", err)
	}
	return n, nil
}

// Create inserts v (GORM's Create: hooks run, associations are saved, the
// generated primary key and timestamps are set on v).
func (r *Repository[T]) Create(ctx context.Context, v *T) error {
	if err := r.check("create", false); err != nil {
		return err
	}
	if v == nil {
		return invalid("create", r.table(), "value is nil")
	}
	return r.fail(ctx, "create", r.write(ctx).Create(v).Error)
}

// Update writes v to the row with v's primary key.
//
// With field names (Go names or column names), exactly those fields are
// written, zero values included. With none, only v's non-zero fields are
// written (GORM's Updates with a struct): a field cannot be set to its zero
// value (false, 0, "") that way; name it instead. Auto-update timestamps
// (UpdatedAt) are always set. No row with that key is an error wrapping
// ErrNotFound; a zero primary key one wrapping ErrInvalidArgument.
func (r *Repository[T]) Update(ctx context.Context, v *T, fields ...string) error {
	const op = "update"
	if err := r.check(op, true); err != nil {
		return err
	}
	if v == nil {
		return invalid(op, r.table(), "value is nil")
	}
	if _, zero := r.pk.ValueOf(ctx, reflectOf(v)); zero {
		return invalid(op, r.table(), "the primary key is zero")
	}
	db := r.write(ctx).Model(v)
	if len(fields) > 0 {
		cols := make([]string, 0, len(fields))
		for _, name := range fields {
			f, err := r.field(op, name)
			if err != nil {
				return err
			}
			cols = append(cols, f.DBName)
		}
		db = db.Select(cols)
	}
	res := db.Updates(v)
	if res.Error != nil {
		return r.fail(ctx, op, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	// No row matched, or GORM sent nothing (no field to write). Tell them
	// apart on the same connection; this runs only on the miss path.
	id, _ := r.pk.ValueOf(ctx, reflectOf(v))
	var n int64
	if err := r.write(ctx).Model(new(T)).Where(r.keyIs(id)).Limit(1).Count(&n).Error; err != nil {
		return r.fail(ctx, op, err)
	}
	if n == 0 {
		return notFound(op, r.table())
	}
	return nil
}

// Delete deletes the row whose primary key is id (a soft delete for models
// with gorm.DeletedAt). No such row is an error wrapping ErrNotFound.
func (r *Repository[T]) Delete(ctx context.Context, id any) error {
	const op = "delete"
	if err := r.check(op, true); err != nil {
		return err
	}
	res := r.write(ctx).Where(r.keyIs(id)).Delete(new(T))
	if res.Error != nil {
		return r.fail(ctx, op, res.Error)
	}
	if res.RowsAffected == 0 {
		return notFound(op, r.table())
	}
	return nil
}

// field finds a field of T by Go name or column name.
func (r *Repository[T]) field(op, name string) (*schema.Field, error) {
	if f := r.schema.LookUpField(name); f != nil && f.DBName != "" {
		return f, nil
	}
	return nil, invalid(op, r.table(), fmt.Sprintf("%s has no field %q", r.schema.Name, name))
}
