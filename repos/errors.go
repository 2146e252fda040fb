package repos

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

// Sentinel errors. Every error a repository returns is an *Error; test for
// these with errors.Is.
var (
	// ErrNotFound: Get, Update or Delete found no row with that key, or
	// FindOne none matching its filters.
	ErrNotFound = errors.New("repos: not found")
	// ErrDuplicate: Create, CreateMany or Update broke a unique constraint
	// (SQLSTATE 23505). Error.Constraint names it.
	ErrDuplicate = errors.New("repos: duplicate")
	// ErrConstraint: a write broke a foreign-key (23503), not-null (23502),
	// check (23514) or exclusion (23P01) constraint. Error.Constraint (or
	// Error.Column for not-null) names it.
	ErrConstraint = errors.New("repos: constraint violation")
	// ErrInvalidArgument: a call named an unknown field, mixed paging styles,
	// or the repository was built with a bad option or model.
	ErrInvalidArgument = errors.New("repos: invalid argument")
)

// passthrough are the errors of other layers that stay testable with
// errors.Is through an *Error.
var passthrough = []error{
	datalayer.ErrReadOnly,
	datalayer.ErrNoPrimary,
	datalayer.ErrNoHealthyNode,
	datalayer.ErrPoolTimeout,
	datalayer.ErrOutcomeUnknown,
	datalayer.ErrClosed,
	plugin.ErrUnregisteredModel,
	context.Canceled,
	context.DeadlineExceeded,
}

// Error is what every repository method returns on failure. It keeps the
// message of the underlying error and the names the server gave, but not the
// driver's types: errors.As(err, &*pgconn.PgError) is false. It wraps Kind
// and the unifieddb and context sentinels found in the cause (ErrReadOnly,
// ErrNoPrimary, ErrPoolTimeout, ErrOutcomeUnknown, ErrClosed,
// context.Canceled, ...), so errors.Is works for them.
type Error struct {
	// Op is the repository operation: get, list, count, create, create_many,
	// update, delete, or a concrete repository's query name.
	Op string
	// Table is the model's table.
	Table string
	// Kind is ErrNotFound, ErrDuplicate, ErrConstraint, ErrInvalidArgument or
	// nil (any other failure).
	Kind error
	// Constraint is the violated constraint as the server named it, if any.
	Constraint string
	// Column is the column of a not-null violation, if any.
	Column string
	// SQLState is the server's error code, "" when the server did not answer.
	SQLState string

	msg    string  // the cause's text
	causes []error // Kind and the passthrough sentinels of the cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("repos: ")
	b.WriteString(e.Op)
	if e.Table != "" {
		b.WriteString(" ")
		b.WriteString(e.Table)
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "repos: "))
		if e.Constraint != "" {
			b.WriteString(" (constraint ")
			b.WriteString(e.Constraint)
			b.WriteString(")")
		}
	}
	if e.msg != "" {
		b.WriteString(": ")
		b.WriteString(e.msg)
	}
	return b.String()
}

// Unwrap gives Kind and the sentinels of the cause, never a driver error.
func (e *Error) Unwrap() []error { return e.causes }

// translate turns err into an *Error at the repository boundary. It returns
// nil for nil.
func translate(ctx context.Context, op, table string, err error) error {
	if err == nil {
		return nil
	}
	var prev *Error
	if errors.As(err, &prev) {
		return err // already translated (a nested repository call)
	}
	e := &Error{Op: op, Table: table, msg: err.Error()}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e.SQLState, e.Constraint, e.Column = pgErr.Code, pgErr.ConstraintName, pgErr.ColumnName
		switch pgErr.Code {
		case "23505":
			e.Kind = ErrDuplicate
		case "23503", "23502", "23514", "23P01":
			e.Kind = ErrConstraint
		}
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		e.Kind, e.msg = ErrNotFound, ""
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, gorm.ErrMissingWhereClause),
		errors.Is(err, gorm.ErrPrimaryKeyRequired):
		e.Kind = ErrInvalidArgument
	}
	if e.Kind != nil {
		e.causes = append(e.causes, e.Kind)
	}
	for _, s := range passthrough {
		if errors.Is(err, s) {
			e.causes = append(e.causes, s)
		}
	}
	// A statement cut short by its context may surface as a driver or
	// database/sql error that does not wrap the context's error.
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		e.causes = append(e.causes, cerr)
	}
	return e
}

// notFound is the *Error of a key that matched no row.
func notFound(op, table string) error {
	return &Error{Op: op, Table: table, Kind: ErrNotFound, causes: []error{ErrNotFound}}
}

// invalid is the *Error of a bad argument.
func invalid(op, table, msg string) error {
	return &Error{Op: op, Table: table, Kind: ErrInvalidArgument, msg: msg, causes: []error{ErrInvalidArgument}}
}
