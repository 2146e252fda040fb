package repos

import (
	"context"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Op is a filter's comparison.
type Op string

// Comparisons of a Filter.
const (
	OpEq   Op = "="    // Value nil means IS NULL
	OpNe   Op = "<>"   // Value nil means IS NOT NULL
	OpLt   Op = "<"    //
	OpLe   Op = "<="   //
	OpGt   Op = ">"    //
	OpGe   Op = ">="   //
	OpIn   Op = "IN"   // Value is a slice
	OpLike Op = "LIKE" // Value is a pattern
)

// Filter is one condition of List and Count: Field Op Value. Field is a Go
// field name or a column name of the model; anything else is refused with
// ErrInvalidArgument, so a Filter never carries SQL text.
type Filter struct {
	Field string
	Op    Op
	Value any
}

// Eq is field = value (IS NULL for nil).
func Eq(field string, value any) Filter { return Filter{field, OpEq, value} }

// Ne is field <> value (IS NOT NULL for nil).
func Ne(field string, value any) Filter { return Filter{field, OpNe, value} }

// Lt is field < value.
func Lt(field string, value any) Filter { return Filter{field, OpLt, value} }

// Le is field <= value.
func Le(field string, value any) Filter { return Filter{field, OpLe, value} }

// Gt is field > value.
func Gt(field string, value any) Filter { return Filter{field, OpGt, value} }

// Ge is field >= value.
func Ge(field string, value any) Filter { return Filter{field, OpGe, value} }

// In is field IN (values...); values is a slice.
func In(field string, values any) Filter { return Filter{field, OpIn, values} }

// Like is field LIKE pattern.
func Like(field, pattern string) Filter { return Filter{field, OpLike, pattern} }

// Order is one sort key of List.
type Order struct {
	Field string // Go field name or column name
	Desc  bool
}

// Asc sorts by field, ascending.
func Asc(field string) Order { return Order{Field: field} }

// Desc sorts by field, descending.
func Desc(field string) Order { return Order{Field: field, Desc: true} }

// Page selects one page of a listing, by one of two styles:
//
//   - keyset: AfterID is the primary key of the last row of the previous
//     page (nil for the first page); rows come by primary key, ascending.
//     Each page is one index range scan, however deep.
//   - limit/offset: Offset rows are skipped.
//
// Limit is the page size; 0 means no limit. Setting both AfterID and Offset
// is refused.
type Page struct {
	AfterID any
	Limit   int
	Offset  int
}

// ListOptions select, sort and page the rows of List.
type ListOptions struct {
	// Filters must all hold.
	Filters []Filter
	// Order sorts the rows; the primary key is always the last sort key, so
	// pages are stable. With AfterID, Order must be empty (or the primary
	// key, ascending).
	Order []Order
	Page
}

// List returns the rows matching opts.
func (r *Repository[T]) List(ctx context.Context, opts ListOptions) ([]T, error) {
	const op = "list"
	if err := r.check(op, opts.AfterID != nil); err != nil {
		return nil, err
	}
	db, err := r.listQuery(r.read(ctx), op, opts)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := db.Find(&out).Error; err != nil {
		return nil, r.fail(ctx, op, err)
	}
	return out, nil
}

func (r *Repository[T]) listQuery(db *gorm.DB, op string, opts ListOptions) (*gorm.DB, error) {
	db, err := r.where(db, op, opts.Filters)
	if err != nil {
		return nil, err
	}
	p := opts.Page
	switch {
	case p.Limit < 0 || p.Offset < 0:
		return nil, invalid(op, r.table(), "Limit and Offset must not be negative")
	case p.AfterID != nil && p.Offset > 0:
		return nil, invalid(op, r.table(), "AfterID (keyset paging) and Offset (limit/offset paging) are two paging styles: use one")
	}
	var keyed bool
	for _, o := range opts.Order {
		f, err := r.field(op, o.Field)
		if err != nil {
			return nil, err
		}
		isKey := r.pk != nil && f == r.pk
		if p.AfterID != nil && (!isKey || o.Desc) {
			return nil, invalid(op, r.table(), "AfterID pages by primary key, ascending: Order must be empty")
		}
		keyed = keyed || isKey
		db = db.Order(clause.OrderByColumn{Column: column(f.DBName), Desc: o.Desc})
	}
	if r.pk != nil && !keyed {
		db = db.Order(clause.OrderByColumn{Column: column(r.pk.DBName)})
	}
	if p.AfterID != nil {
		db = db.Where(clause.Gt{Column: column(r.pk.DBName), Value: p.AfterID})
	}
	if p.Limit > 0 {
		db = db.Limit(p.Limit)
	}
	if p.Offset > 0 {
		db = db.Offset(p.Offset)
	}
	return db, nil
}

// where adds the filters to db.
func (r *Repository[T]) where(db *gorm.DB, op string, filters []Filter) (*gorm.DB, error) {
	for _, f := range filters {
		fl, err := r.field(op, f.Field)
		if err != nil {
			return nil, err
		}
		col := column(fl.DBName)
		var expr clause.Expression
		switch f.Op {
		case OpEq, "":
			expr = clause.Eq{Column: col, Value: f.Value}
		case OpNe:
			expr = clause.Neq{Column: col, Value: f.Value}
		case OpLt:
			expr = clause.Lt{Column: col, Value: f.Value}
		case OpLe:
			expr = clause.Lte{Column: col, Value: f.Value}
		case OpGt:
			expr = clause.Gt{Column: col, Value: f.Value}
		case OpGe:
			expr = clause.Gte{Column: col, Value: f.Value}
		case OpLike:
			expr = clause.Like{Column: col, Value: f.Value}
		case OpIn:
			values, ok := sliceValues(f.Value)
			if !ok {
				return nil, invalid(op, r.table(), fmt.Sprintf("IN on %s needs a slice, got %T", f.Field, f.Value))
			}
			expr = clause.IN{Column: col, Values: values}
		default:
			return nil, invalid(op, r.table(), fmt.Sprintf("unknown filter op %q", f.Op))
		}
		db = db.Where(expr)
	}
	return db, nil
}

func column(name string) clause.Column {
	return clause.Column{Table: clause.CurrentTable, Name: name}
}

// sliceValues spreads a slice or array (not []byte) into []any.
func sliceValues(v any) ([]any, bool) {
	if vs, ok := v.([]any); ok {
		return vs, true
	}
	rv := reflect.ValueOf(v)
	if (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}
