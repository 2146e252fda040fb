package promptimprover_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/migrations"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/registry"
)

var shipped = []string{"00001_extensions.sql", "00002_indexes.sql", "00003_backfill.sql"}

func TestMigrationsAreTheApplicationsSQLFiles(t *testing.T) {
	names, err := fs.Glob(promptimprover.Migrations(), "*.sql")
	require.NoError(t, err)
	assert.Equal(t, shipped, names)
}

func TestRegister(t *testing.T) {
	require.Error(t, promptimprover.Register(nil))
	r := registry.New(registry.WithStrict(true))
	require.NoError(t, promptimprover.Register(r))
	require.NoError(t, promptimprover.Register(r), "registering again is a no-op")
	assert.Equal(t, []string{"users", "prompts", "improvement_sessions"}, r.Tables())
}

// Open is the application's explicit opt-in: Migrate then creates its
// tables and runs its SQL migrations.
func TestOpenThenMigrateCreatesTheApplicationsSchema(t *testing.T) {
	ctx := context.Background()
	m, err := promptimprover.Open(ctx, freshConfig(t))
	require.NoError(t, err)
	defer m.Close()
	assert.Equal(t, []string{"users", "prompts", "improvement_sessions"}, m.Registry().Tables())

	res, err := m.Migrate(ctx)
	require.NoError(t, err)
	got := make([]string, len(res))
	for i, r := range res {
		got[i] = r.Source
	}
	assert.Equal(t, shipped, got)

	db := m.Conn(ctx, datalayer.ReadWrite)
	var tables []string
	require.NoError(t, db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`).Scan(&tables).Error)
	assert.Equal(t, []string{"goose_db_version", "improvement_sessions", "prompts", "users"}, tables)
	var n int
	require.NoError(t, db.Raw(`SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'`).Scan(&n).Error)
	assert.Equal(t, 1, n)
	require.NoError(t, db.Raw(`SELECT count(*) FROM pg_indexes WHERE indexname IN ('idx_users_active_email', 'idx_improvement_sessions_prompt_status')`).Scan(&n).Error)
	assert.Equal(t, 2, n)

	users := promptimprover.NewUserRepository(m.DB())
	u := models.User{Name: "Ada", Email: "ada@example.com", Active: true}
	require.NoError(t, users.Create(datalayer.WithReadYourWrites(ctx), &u))
	found, err := users.FindByEmail(datalayer.WithReadYourWrites(ctx), "ada@example.com")
	require.NoError(t, err)
	assert.Equal(t, u.ID, found.ID)
}

// A configuration handing migrations_dir too is refused: one way only.
func TestOpenRefusesMigrationsDir(t *testing.T) {
	cfg := freshConfig(t)
	cfg.MigrationsDir = t.TempDir()
	_, err := promptimprover.Open(context.Background(), cfg)
	var ce *datalayer.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Has("migrations_dir"))
}

func TestMigrationsRunWithTheRunnerAlone(t *testing.T) {
	ctx := context.Background()
	dsn := freshDSN(t)
	r := registry.New(registry.WithStrict(true))
	require.NoError(t, promptimprover.Register(r))
	require.NoError(t, r.AutoMigrate(openGorm(t, dsn)))
	run, err := migrations.New(openSQL(t, dsn), migrations.WithFS(promptimprover.Migrations()))
	require.NoError(t, err)
	defer run.Close()
	n, err := run.Pending(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}
