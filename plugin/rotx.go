package plugin

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Behind a pooler in transaction mode (PgBouncer) a session parameter cannot
// make a pool read-only: PgBouncer refuses default_transaction_read_only at
// connection start, and a SET would stay on a server connection other
// clients then get. So ReadOnly statements outside a transaction run in a
// transaction of their own, BEGIN READ ONLY ... COMMIT, which PgBouncer
// keeps on one server connection and PostgreSQL enforces. That costs two
// round trips per statement, paid only in ReadOnly mode.

// roTxKey marks the context of a ReadOnly statement that must run in a
// read-only transaction of its own.
type roTxKey struct{}

func withReadOnlyTx(ctx context.Context) context.Context {
	return context.WithValue(ctx, roTxKey{}, true)
}

func wantsReadOnlyTx(ctx context.Context) bool {
	on, _ := ctx.Value(roTxKey{}).(bool)
	return on
}

// roConn is a pgx connection; only its ExecContext and QueryContext differ,
// and only when ro is set (behind a transaction pooler). Every pool's
// connections are drvConns built on it (see connector).
type roConn struct {
	*stdlib.Conn
	ro bool
}

// own reports whether the statement needs its own read-only transaction:
// it is marked, and not already inside a transaction.
func (c *roConn) own(ctx context.Context) bool {
	return c.ro && wantsReadOnlyTx(ctx) && c.Conn.Conn().PgConn().TxStatus() == 'I'
}

func (c *roConn) begin(ctx context.Context) error {
	if _, err := c.Conn.Conn().Exec(ctx, "BEGIN READ ONLY"); err != nil {
		return c.badIfUnsent(err)
	}
	return nil
}

// badIfUnsent lets database/sql retry on another connection, as pgx's own
// driver does, when the failed BEGIN provably never reached the server.
func (c *roConn) badIfUnsent(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

// end commits (ok) or rolls back the statement's transaction. A connection
// left inside a transaction is closed, so that database/sql drops it.
func (c *roConn) end(ok bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pc := c.Conn.Conn()
	var err error
	if ok {
		_, err = pc.Exec(ctx, "COMMIT")
	} else {
		_, err = pc.Exec(ctx, "ROLLBACK")
	}
	if err != nil || pc.PgConn().TxStatus() != 'I' {
		pc.Close(ctx)
	}
	return err
}

func (c *roConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !c.own(ctx) {
		return c.Conn.ExecContext(ctx, query, args)
	}
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	res, err := c.Conn.ExecContext(ctx, query, args)
	if err != nil {
		c.end(false)
		return nil, err
	}
	if err := c.end(true); err != nil {
		return nil, err
	}
	return res, nil
}

func (c *roConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !c.own(ctx) {
		return c.Conn.QueryContext(ctx, query, args)
	}
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := c.Conn.QueryContext(ctx, query, args)
	if err != nil {
		c.end(false)
		return nil, err
	}
	sr, ok := rows.(*stdlib.Rows)
	if !ok {
		rows.Close()
		c.end(false)
		return nil, errors.New("unifieddb: the pgx driver returned unexpected rows")
	}
	return &roRows{Rows: sr, conn: c}, nil
}

// roRows ends the statement's transaction when the rows are closed: COMMIT
// when they were read without error.
type roRows struct {
	*stdlib.Rows
	conn *roConn
}

func (r *roRows) Close() error {
	err := r.Rows.Close()
	if cerr := r.conn.end(err == nil); err == nil {
		err = cerr
	}
	return err
}
