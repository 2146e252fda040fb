package datalayer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// migrations_dir must name an existing directory; the error names the key.
func TestValidateMigrationsDir(t *testing.T) {
	c := validTestConfig()
	c.MigrationsDir = t.TempDir()
	require.NoError(t, c.Validate())

	c.MigrationsDir = filepath.Join(t.TempDir(), "missing")
	ce := requireConfigError(t, c.Validate())
	assert.True(t, ce.Has("migrations_dir"))
	assert.Contains(t, ce.Error(), "does not exist")

	file := filepath.Join(t.TempDir(), "00001_x.sql")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	c.MigrationsDir = file
	ce = requireConfigError(t, c.Validate())
	assert.True(t, ce.Has("migrations_dir"))
	assert.Contains(t, ce.Error(), "not a directory")
}

func TestParseConfigMigrationsDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("APP_MIGRATIONS", dir)
	c, err := ParseConfig([]byte("database:\n  database: app\n  migrations_dir: ${APP_MIGRATIONS}\n"))
	require.NoError(t, err)
	assert.Equal(t, dir, c.MigrationsDir)
	out, err := c.MarshalYAML()
	require.NoError(t, err)
	back, err := ParseConfig(out)
	require.NoError(t, err)
	assert.Equal(t, dir, back.MigrationsDir)

	_, err = ParseConfig([]byte("database:\n  database: app\n  migrations_dir: /no/such/dir/here\n"))
	ce := requireConfigError(t, err)
	assert.True(t, ce.Has("migrations_dir"))
}

// Migrations are handed one way: New refuses WithMigrations(nil), and
// WithMigrations together with migrations_dir, before opening anything.
func TestNewMigrationsHandedOneWay(t *testing.T) {
	ctx := context.Background()
	c := validTestConfig()
	_, err := New(ctx, c, WithMigrations(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithMigrations: nil fs.FS")

	c.MigrationsDir = t.TempDir()
	_, err = New(ctx, c, WithMigrations(fstest.MapFS{}))
	ce := requireConfigError(t, err)
	assert.True(t, ce.Has("migrations_dir"))
}
