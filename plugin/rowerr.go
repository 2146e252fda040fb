package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
)

// errRow returns a *sql.Row whose Err and Scan give err. database/sql has no
// constructor for one, and QueryRowContext must return a *sql.Row, so the
// error comes out of a throwaway *sql.DB whose only connector fails with it.
// It opens nothing and costs only on this error path.
func errRow(ctx context.Context, err error) *sql.Row {
	if ctx == nil {
		ctx = context.Background()
	}
	db := sql.OpenDB(failConnector{err})
	defer db.Close()
	// A done ctx would replace err by ctx.Err(): the query never runs anyway.
	return db.QueryRowContext(context.WithoutCancel(ctx), "-")
}

// failConnector is a driver.Connector that always fails with err.
type failConnector struct{ err error }

func (f failConnector) Connect(context.Context) (driver.Conn, error) { return failDriver(f).Open("") }

func (f failConnector) Driver() driver.Driver { return failDriver(f) }

type failDriver failConnector

func (f failDriver) Open(string) (driver.Conn, error) {
	if f.err == nil {
		return nil, errors.New("unifieddb: no connection")
	}
	return nil, f.err
}
