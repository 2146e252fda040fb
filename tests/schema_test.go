package tests

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/migrations"
)

// An application's own models: a customer has many orders.
type schemaCustomer struct {
	ID     uint
	Name   string
	Orders []schemaOrder `gorm:"foreignKey:CustomerID"`
}

type schemaOrder struct {
	ID         uint
	CustomerID uint
	Total      int
}

// With no SQL migrations handed, Migrate on a fresh database creates the
// tables of the registered models and nothing else: no table of
// prompt-improver's, no goose version table, no extension. It says so at
// DEBUG, and Migrations() is an error wrapping migrations.ErrNoMigrations.
func TestMigrateWithNoMigrationsHandedCreatesOnlyRegisteredTables(t *testing.T) {
	ctx := testCtx(t)
	var logs syncBuffer
	m := openManager(t, freshConfig(t), datalayer.WithLogger(bufLogger(&logs, slog.LevelDebug)))
	require.NoError(t, m.Registry().Register(&schemaCustomer{}, &schemaOrder{}))
	assert.Equal(t, []string{"schema_customers", "schema_orders"}, m.Registry().Tables())

	res, err := m.Migrate(ctx)
	require.NoError(t, err)
	assert.Empty(t, res)
	tables, exts := schemaOf(t, m)
	assert.Equal(t, []string{"schema_customers", "schema_orders"}, tables)
	assert.Empty(t, exts)
	assert.NotEmpty(t, linesWith(logs.String(), "no SQL migrations handed"), "Migrate says it ran none")
	assert.Empty(t, linesWith(logs.String(), "level=WARN"))
	assert.Empty(t, linesWith(logs.String(), "level=ERROR"))

	_, err = m.Migrations()
	require.ErrorIs(t, err, migrations.ErrNoMigrations)
	assert.Contains(t, err.Error(), "WithMigrations or migrations_dir")

	// The has-many works on what AutoMigrate made.
	db := m.Conn(ctx, datalayer.ReadWrite)
	c := schemaCustomer{Name: "Ada", Orders: []schemaOrder{{Total: 3}, {Total: 4}}}
	require.NoError(t, db.Create(&c).Error)
	var got schemaCustomer
	require.NoError(t, db.Preload("Orders").First(&got, c.ID).Error)
	assert.Len(t, got.Orders, 2)
}

// migrations_dir hands the application's SQL migrations from a directory;
// Migrate at INFO logs each migration applied, never its statements.
func TestMigrateRunsTheMigrationsDirAndLogsNoStatementAtInfo(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00001_orders_total.sql"), []byte(`-- +goose Up
CREATE INDEX idx_schema_orders_big ON schema_orders (total) WHERE total > 100;
-- +goose Down
DROP INDEX idx_schema_orders_big;
`), 0o644))
	cfg := freshConfig(t)
	cfg.MigrationsDir = dir
	var logs syncBuffer
	m := openManager(t, cfg, datalayer.WithLogger(bufLogger(&logs, slog.LevelInfo)))
	require.NoError(t, m.Registry().Register(&schemaCustomer{}, &schemaOrder{}))

	res, err := m.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "00001_orders_total.sql", res[0].Source)
	tables, exts := schemaOf(t, m)
	assert.Equal(t, []string{"goose_db_version", "schema_customers", "schema_orders"}, tables)
	assert.Empty(t, exts)

	assert.NotEmpty(t, linesWith(logs.String(), "00001_orders_total.sql"), "the migration applied is logged at INFO")
	assert.Empty(t, linesWith(logs.String(), "executing statement"), "no per-statement line at INFO")
	assert.Empty(t, linesWith(logs.String(), "CREATE INDEX"), "no per-statement line at INFO")

	res, err = m.Migrate(ctx)
	require.NoError(t, err)
	assert.Empty(t, res, "a second Migrate applies nothing")
	r, err := m.Migrations()
	require.NoError(t, err)
	defer r.Close()
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 1)
	assert.True(t, st[0].Applied)
}

// A migrations_dir that does not exist is a *ConfigError naming the key;
// WithMigrations together with migrations_dir, or with nil, is refused.
func TestMigrationsAreHandedOneWay(t *testing.T) {
	ctx := testCtx(t)
	cfg := newManagerConfig(t)
	cfg.MigrationsDir = filepath.Join(t.TempDir(), "missing")
	_, err := datalayer.New(ctx, cfg)
	var ce *datalayer.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Has("migrations_dir"), "%v", err)
	assert.ErrorIs(t, err, datalayer.ErrInvalidConfig)

	cfg.MigrationsDir = t.TempDir()
	_, err = datalayer.New(ctx, cfg, datalayer.WithMigrations(fstest.MapFS{}))
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Has("migrations_dir"), "%v", err)

	_, err = datalayer.New(ctx, newManagerConfig(t), datalayer.WithMigrations(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithMigrations")

	// An empty directory handed is an error (a wrong path, most likely), not a silent no-op.
	cfg.MigrationsDir = t.TempDir()
	m := openManager(t, cfg)
	_, err = m.Migrate(ctx)
	require.ErrorIs(t, err, migrations.ErrNoMigrations)
}
