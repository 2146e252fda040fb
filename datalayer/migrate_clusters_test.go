package datalayer

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/migrations"
)

// twoClusterTestConfig has the default cluster and "events", each on a
// loopback port nothing listens on: no server is reached.
func twoClusterTestConfig(t *testing.T) Config {
	t.Helper()
	c := validTestConfig()
	c.Host, c.Port = "127.0.0.1", closedLoopbackPort(t)
	ev := c.ClusterBase()
	ev.Host, ev.Port = "127.0.0.1", closedLoopbackPort(t)
	c.Clusters = map[string]Config{"events": ev}
	return c
}

// oneMigration is an fs.FS of one valid migration.
var oneMigration = fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}

// New refuses a cluster's migrations handed to no cluster, nil, or two
// ways, before opening anything.
func TestNewClusterMigrationsRefused(t *testing.T) {
	ctx := context.Background()
	c := twoClusterTestConfig(t)

	_, err := New(ctx, c, WithClusterMigrations("nope", oneMigration))
	require.ErrorIs(t, err, ErrUnknownCluster)
	assert.Contains(t, err.Error(), `"nope"`)
	assert.Contains(t, err.Error(), "default, events", "the error lists the clusters there are")

	one := validTestConfig()
	_, err = New(ctx, one, WithClusterMigrations("events", oneMigration))
	require.ErrorIs(t, err, ErrUnknownCluster, "without clusters, no named cluster")

	_, err = New(ctx, c, WithClusterMigrations("events", nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `WithClusterMigrations("events"): nil fs.FS`)

	both := c
	ev := both.Clusters["events"]
	ev.MigrationsDir = t.TempDir()
	both.Clusters = map[string]Config{"events": ev}
	_, err = New(ctx, both, WithClusterMigrations("events", oneMigration))
	ce := requireConfigError(t, err)
	assert.True(t, ce.Has("clusters.events.migrations_dir"), ce.Error())
	assert.False(t, ce.Has("migrations_dir"), "the default cluster's key is fine")

	// The default cluster's name is WithMigrations's.
	def := c
	def.MigrationsDir = t.TempDir()
	_, err = New(ctx, def, WithClusterMigrations(DefaultCluster, oneMigration))
	ce = requireConfigError(t, err)
	assert.True(t, ce.Has("migrations_dir"), ce.Error())
}

// MigrationsOn gives a named cluster's runner; its errors name the cluster
// and the key with its path. Every runner here is on migration_host or
// fails before connecting: no server is started.
func TestMigrationsOnCluster(t *testing.T) {
	ctx := context.Background()
	c := twoClusterTestConfig(t)
	c.MigrationHost = c.Host
	c.MigrationsDir = t.TempDir() // empty: no NNNNN_name.sql
	ev := c.Clusters["events"]
	ev.MigrationHost = ev.Host
	c.Clusters = map[string]Config{"events": ev}
	m, err := New(ctx, c)
	require.NoError(t, err)
	defer m.Close()

	_, err = m.MigrationsOn("nope")
	require.ErrorIs(t, err, ErrUnknownCluster)
	assert.Equal(t, `unifieddb: unknown cluster: "nope" in MigrationsOn (the clusters: default, events)`, err.Error())

	_, err = m.MigrationsOn("events")
	require.ErrorIs(t, err, migrations.ErrNoMigrations)
	assert.Equal(t, `unifieddb: cluster events: no SQL migrations handed to the Manager `+
		`(datalayer.WithClusterMigrations("events", ...) or clusters.events.migrations_dir): `+
		`migrations: no migrations found: no fs.FS handed (WithFS)`, err.Error())

	// Migrations is the default cluster's, MigrationsOn(DefaultCluster) too.
	for _, get := range []func() (*migrations.Runner, error){
		func() (*migrations.Runner, error) { return m.Migrations() },
		func() (*migrations.Runner, error) { return m.MigrationsOn(DefaultCluster) },
	} {
		_, err = get()
		require.ErrorIs(t, err, migrations.ErrNoMigrations)
		assert.True(t, strings.HasPrefix(err.Error(), "unifieddb: cluster default: migrations_dir "), err.Error())
		assert.Contains(t, err.Error(), c.MigrationsDir)
	}

	// A cluster's own migrations_dir, empty, is named with its path.
	ev.MigrationsDir = t.TempDir()
	c.Clusters = map[string]Config{"events": ev}
	m2, err := New(ctx, c)
	require.NoError(t, err)
	defer m2.Close()
	_, err = m2.MigrationsOn("events")
	require.ErrorIs(t, err, migrations.ErrNoMigrations)
	assert.Contains(t, err.Error(), `cluster events: clusters.events.migrations_dir "`+ev.MigrationsDir+`"`)

	// Handed in code, the runner is made (on migration_host, not reached).
	c.MigrationsDir, ev.MigrationsDir = "", ""
	c.Clusters = map[string]Config{"events": ev}
	m3, err := New(ctx, c, WithClusterMigrations("events", oneMigration))
	require.NoError(t, err)
	defer m3.Close()
	r, err := m3.MigrationsOn("events")
	require.NoError(t, err)
	require.NoError(t, r.Close())
}

// Behind PgBouncer a named cluster's SQL migrations need its own
// migration_host: the error names the key with its path.
func TestClusterMigrationsNeedMigrationHostBehindPgBouncer(t *testing.T) {
	c := twoClusterTestConfig(t)
	ev := c.Clusters["events"]
	ev.PgBouncer, ev.StatementTimeout = true, 0
	c.Clusters = map[string]Config{"events": ev}
	m, err := New(context.Background(), c, WithClusterMigrations("events", oneMigration))
	require.NoError(t, err)
	defer m.Close()
	_, err = m.MigrationsOn("events")
	ce := requireConfigError(t, err)
	assert.True(t, ce.Has("clusters.events.migration_host"), ce.Error())
	assert.Contains(t, err.Error(), "cluster events:")
}
