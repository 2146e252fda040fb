package tests

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

var gxSeq atomic.Int64

// freshDatabase creates an empty database on the shared cluster's primary,
// dropped when the test ends, and waits until the replicas have it.
func freshDatabase(t *testing.T) string {
	t.Helper()
	return freshDatabaseOn(t, shared)
}

// freshDatabaseOn is freshDatabase on c, whose first node is its primary.
func freshDatabaseOn(t *testing.T, c *pgcluster.Cluster) string {
	t.Helper()
	ctx := context.Background()
	primary := c.Nodes()[0]
	name := fmt.Sprintf("gx_%d", gxSeq.Add(1))
	require.NoError(t, primary.Exec(ctx, `CREATE DATABASE "`+name+`"`))
	t.Cleanup(func() { _ = primary.Exec(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`) })
	waitReplicated(t, c, primary)
	return name
}

// plainGORM opens plain GORM (no plugin) on database name of the shared
// cluster's primary.
func plainGORM(t *testing.T, name string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(shared.Nodes()[0].DSN()+" dbname="+name), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// managerOn opens a Manager on database name of the shared cluster.
func managerOn(t *testing.T, name string, mutate func(*datalayer.Config)) *datalayer.Manager {
	t.Helper()
	return newManager(t, shared, func(c *datalayer.Config) {
		c.Database = name
		if mutate != nil {
			mutate(c)
		}
	})
}

// gormCase is one GORM operation to run the same way with and without the
// plugin.
type gormCase struct {
	// setup prepares the database (tables, rows); it may be nil.
	setup func(db *gorm.DB) error
	// op is the operation under test.
	op func(db *gorm.DB) error
	// rows reads back what the comparison is about.
	rows func(db *gorm.DB) (any, error)
}

// outcome is what one run of a gormCase gave.
type outcome struct {
	err  string // "" when op succeeded; "panic: ..." when it panicked
	rows any
}

// sameAsGORM runs c once on plain GORM and once through a Manager (Auto
// mode, m.DB()), each on its own fresh database of the shared cluster, and
// requires the same outcome: both succeed or both fail with the same
// message (the plugin may add context around it), no panic where GORM has
// none, and the same rows afterwards.
func sameAsGORM(t *testing.T, c gormCase) {
	t.Helper()
	ctx := testCtx(t)
	plainName, pluginName := freshDatabase(t), freshDatabase(t)
	plain := plainGORM(t, plainName).WithContext(ctx)
	m := managerOn(t, pluginName, nil)
	want := runCase(t, plain, plain, c)
	got := runCase(t, m.DB().WithContext(ctx), m.Conn(ctx, datalayer.ReadWrite).Session(&gorm.Session{}), c)
	if want.err == "" {
		assert.Empty(t, got.err, "plain GORM succeeded")
	} else {
		assert.Contains(t, got.err, want.err, "plain GORM failed with %q", want.err)
	}
	assert.Equal(t, want.rows, got.rows, "rows after the operation")
}

// runCase runs c's setup and op on db and reads the rows back on check (the
// primary), turning a panic into an outcome.
func runCase(t *testing.T, db, check *gorm.DB, c gormCase) outcome {
	t.Helper()
	if c.setup != nil {
		require.NoError(t, c.setup(db))
		waitReplicated(t, shared, shared.Nodes()[0])
	}
	var o outcome
	func() {
		defer func() {
			if r := recover(); r != nil {
				o.err = fmt.Sprint("panic: ", r)
			}
		}()
		if err := c.op(db); err != nil {
			o.err = err.Error()
		}
	}()
	if c.rows != nil {
		rows, err := c.rows(check)
		require.NoError(t, err)
		o.rows = rows
	}
	return o
}
