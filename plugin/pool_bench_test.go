package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// okConn is a database/sql driver connection whose every statement succeeds
// at once: the pool's own cost per statement, without a server.
type okConn struct{}

func (okConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (okConn) Close() error                        { return nil }
func (okConn) Begin() (driver.Tx, error)           { return okConn{}, nil }
func (okConn) Commit() error                       { return nil }
func (okConn) Rollback() error                     { return nil }
func (okConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}

type okConnector struct{}

func (okConnector) Connect(context.Context) (driver.Conn, error) { return okConn{}, nil }
func (okConnector) Driver() driver.Driver                        { return nil }

// BenchmarkPoolExecParallel runs statements through a pool from every core
// at once. Run it with -mutexprofile: the statement path must show no lock
// of the plugin's own, nor database/sql's Stats (only database/sql's taking
// and returning of the connection).
func BenchmarkPoolExecParallel(b *testing.B) {
	p, _ := testPlugin(b, 1)
	db := sql.OpenDB(okConnector{})
	defer db.Close()
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	pl := &cluster.Pool{DB: db, Node: p.c.Nodes()[0], Kind: cluster.PoolWrite, Max: 64}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := poolExec(ctx, pl, false, "UPDATE t SET a = 1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
