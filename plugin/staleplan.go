package plugin

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// stalePlan reports whether the server refused a cached prepared statement
// because the columns of a table it reads changed since it was prepared
// (SQLSTATE 0A000, "cached plan must not change result type"), as during a
// rolling deploy with migrations. The statement did not run, and pgx has
// dropped it from that connection's cache.
func stalePlan(err error) bool {
	if err == nil {
		return false // the common path: no allocation
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "0A000" &&
		strings.Contains(pgErr.Message, "cached plan must not change result type")
}

// freshPlan makes pgx describe the statement anew instead of using any
// connection's cached plan (pgx reads a leading QueryExecMode argument as an
// option, through database/sql too). Only on the error path: it allocates.
func freshPlan(args []any) []any {
	return append([]any{pgx.QueryExecModeDescribeExec}, args...)
}
