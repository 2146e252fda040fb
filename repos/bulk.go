package repos

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

// CreateMany inserts rows, all or none: a failing row leaves no row of the
// call behind. It runs on the primary's Batch pool (or on the transaction,
// after WithTx). An empty slice does nothing.
//
// Two paths, chosen per call:
//
//   - COPY (one pgx CopyFrom statement streaming every row, inside one
//     transaction on a Batch-pool connection) when nothing per row has to
//     run in Go: the model has no BeforeSave/BeforeCreate/AfterCreate/AfterSave
//     hooks, no row sets an association, every column with a database default
//     (e.g. a serial primary key) is either zero in every row (the default
//     applies) or set in every row, the call is not inside WithTx, and the
//     pool's driver is pgx.
//     Timestamps (CreatedAt, UpdatedAt) and Go-side defaults are filled in and
//     set on rows like GORM does, but generated primary keys are NOT set on
//     rows: read them back by another key if you need them.
//   - otherwise multi-row INSERTs of batch_size rows (GORM's Create: hooks run,
//     associations are saved, generated keys are set on rows), all inside one
//     transaction.
func (r *Repository[T]) CreateMany(ctx context.Context, rows []T) error {
	const op = "create_many"
	if err := r.check(op, false); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	if !r.inTx {
		if cols, ok := r.copyColumns(ctx, rows); ok {
			err := r.copyRows(ctx, rows, cols)
			if !errors.Is(err, errNoCopy) {
				return r.fail(ctx, op, err)
			}
		}
	}
	return r.fail(ctx, op, r.insertRows(ctx, rows))
}

// insertRows inserts rows batchSize at a time in one transaction.
func (r *Repository[T]) insertRows(ctx context.Context, rows []T) error {
	insert := func(tx *gorm.DB) error {
		for i := 0; i < len(rows); i += r.batchSize {
			chunk := rows[i:min(i+r.batchSize, len(rows))]
			if err := tx.Create(&chunk).Error; err != nil {
				return err
			}
		}
		return nil
	}
	if r.inTx {
		return insert(r.db.WithContext(ctx))
	}
	return r.mode(ctx, datalayer.Batch).Transaction(insert)
}

// errNoCopy: the Batch pool's driver is not pgx, so COPY is not available.
var errNoCopy = errors.New("repos: COPY not available")

// copyColumns returns the fields COPY sends, or false when rows need the
// INSERT path (see CreateMany).
func (r *Repository[T]) copyColumns(ctx context.Context, rows []T) ([]*schema.Field, bool) {
	s := r.schema
	if s.BeforeSave || s.BeforeCreate || s.AfterCreate || s.AfterSave {
		return nil, false
	}
	for _, f := range r.relations {
		for i := range rows {
			if _, zero := f.ValueOf(ctx, reflectOf(&rows[i])); !zero {
				return nil, false
			}
		}
	}
	cols := make([]*schema.Field, 0, len(s.DBNames))
	for _, name := range s.DBNames {
		f := s.FieldsByDBName[name]
		if !f.Creatable {
			continue
		}
		if !f.HasDefaultValue || f.DefaultValueInterface != nil {
			cols = append(cols, f)
			continue
		}
		// A database default: GORM sends the column only for rows that set
		// it (DEFAULT for the others), which COPY cannot express.
		set := 0
		for i := range rows {
			if _, zero := f.ValueOf(ctx, reflectOf(&rows[i])); !zero {
				set++
			}
		}
		switch set {
		case 0:
		case len(rows):
			cols = append(cols, f)
		default:
			return nil, false
		}
	}
	return cols, len(cols) > 0
}

// copyRows loads rows with COPY in one transaction on a connection of the
// primary's Batch pool. It returns errNoCopy, having done nothing, when that
// connection is not a pgx one.
func (r *Repository[T]) copyRows(ctx context.Context, rows []T, cols []*schema.Field) error {
	db := r.mode(ctx, datalayer.Batch)
	// Run the plugin's checks (closed manager, strict-mode registry) on a
	// statement that is built but not sent.
	if err := db.Session(&gorm.Session{DryRun: true}).Create(new(T)).Error; err != nil {
		return err
	}
	names := make([]string, len(cols))
	for i, f := range cols {
		names[i] = f.DBName
	}
	src := &copySource[T]{ctx: ctx, rows: rows, cols: cols, now: r.db.NowFunc(), vals: make([]any, len(cols))}
	// Through the plugin: the wait for a primary and for a free connection,
	// and a connection lost during COMMIT is ErrOutcomeUnknown, not an error
	// a caller would retry into duplicate rows.
	err := plugin.WithConn(ctx, db, func(conn *sql.Conn) error {
		return conn.Raw(func(dc any) error {
			// The plugin's driver connection wraps pgx's: reach pgx by its
			// Conn method, which both have.
			sc, ok := dc.(interface{ Conn() *pgx.Conn })
			if !ok {
				return errNoCopy
			}
			src.reset()
			tx, err := sc.Conn().Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
			if _, err := tx.CopyFrom(ctx, pgx.Identifier(strings.Split(r.schema.Table, ".")), names, src); err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
	})
	if err != nil {
		return err
	}
	// COPY bypassed the plugin: tell read-your-writes about it.
	datalayer.MarkWritten(ctx)
	return nil
}

// copySource feeds rows to CopyFrom, filling Go-side defaults and
// timestamps on the rows as GORM's Create does.
type copySource[T any] struct {
	ctx  context.Context
	rows []T
	cols []*schema.Field
	now  time.Time
	i    int
	vals []any // reused: CopyFrom encodes a row before asking for the next
}

func (s *copySource[T]) Next() bool {
	s.i++
	return s.i <= len(s.rows)
}

func (s *copySource[T]) Values() ([]any, error) {
	rv := reflectOf(&s.rows[s.i-1])
	for j, f := range s.cols {
		v, zero := f.ValueOf(s.ctx, rv)
		if zero {
			switch {
			case f.DefaultValueInterface != nil:
				if err := f.Set(s.ctx, rv, f.DefaultValueInterface); err != nil {
					return nil, err
				}
				v = f.DefaultValueInterface
			case f.AutoCreateTime > 0 || f.AutoUpdateTime > 0:
				if err := f.Set(s.ctx, rv, s.now); err != nil {
					return nil, err
				}
				v, _ = f.ValueOf(s.ctx, rv)
			}
		}
		s.vals[j] = v
	}
	return s.vals, nil
}

func (s *copySource[T]) Err() error { return nil }

// reset starts the rows over, for a run again on another node after one
// that provably sent nothing.
func (s *copySource[T]) reset() { s.i = 0 }

// reflectOf is the addressable struct value behind v.
func reflectOf[T any](v *T) reflect.Value { return reflect.ValueOf(v).Elem() }
