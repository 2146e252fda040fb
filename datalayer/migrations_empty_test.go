package datalayer

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/migrations"
)

// closedLoopbackPort is a 127.0.0.1 port nothing listens on: the Manager's
// probes are refused there and touch no service of the machine.
func closedLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// A migrations_dir that holds no NNNNN_name.sql file (a typo'd or empty
// directory) is an error naming the directory and what was looked for, said
// once: not "migrations: migrations: no migrations found: no migrations found".
func TestMigrationsEmptyDirSaysWhere(t *testing.T) {
	c := validTestConfig()
	c.Host, c.Port = "127.0.0.1", closedLoopbackPort(t)
	// Migrations() on migration_host opens no connection: the error is
	// the files', with no server to start.
	c.MigrationHost = c.Host
	c.MigrationsDir = t.TempDir()
	m, err := New(context.Background(), c)
	require.NoError(t, err)
	defer m.Close()

	_, err = m.Migrations()
	require.ErrorIs(t, err, migrations.ErrNoMigrations)
	msg := err.Error()
	assert.Contains(t, msg, c.MigrationsDir, "the error names the directory")
	assert.Contains(t, msg, "NNNNN_name.sql", "the error says what it looked for")
	assert.Equal(t, 1, strings.Count(msg, "no migrations found"), msg)
	assert.NotContains(t, msg, "migrations: migrations:", msg)
}
