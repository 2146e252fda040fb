package tests

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/migrations"
)

// SQL migrations of the two-cluster tests: the default cluster's make
// mig_orders, the events cluster's mig_events and an index on it.
var (
	migDefault = fstest.MapFS{
		"00001_orders.sql": {Data: []byte("-- +goose Up\nCREATE TABLE mig_orders (id bigint PRIMARY KEY);\n-- +goose Down\nDROP TABLE mig_orders;\n")},
	}
	migEvents = fstest.MapFS{
		"00001_events.sql":    {Data: []byte("-- +goose Up\nCREATE TABLE mig_events (id bigint PRIMARY KEY, kind text);\n-- +goose Down\nDROP TABLE mig_events;\n")},
		"00002_events_ix.sql": {Data: []byte("-- +goose Up\nCREATE INDEX mig_events_kind ON mig_events (kind);\n-- +goose Down\nDROP INDEX mig_events_kind;\n")},
	}
)

// hasRelation asks pg_catalog of db's database whether a relation (table,
// index) of that name exists.
func hasRelation(t *testing.T, db *gorm.DB, name string) bool {
	t.Helper()
	var n int64
	require.NoError(t, db.Raw("SELECT count(*) FROM pg_catalog.pg_class WHERE relname = ?", name).Scan(&n).Error)
	return n > 0
}

// gooseVersions is how many migrations db's goose table records, and how
// many distinct ones.
func gooseVersions(t *testing.T, db *gorm.DB) (n, distinct int64) {
	t.Helper()
	require.NoError(t, db.Raw("SELECT count(*), count(DISTINCT version_id) FROM "+migrations.VersionTable+" WHERE version_id > 0").
		Row().Scan(&n, &distinct))
	return n, distinct
}

// labelled is "cluster file" for each result.
func labelled(rs []migrations.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Cluster+" "+r.Source)
	}
	return out
}

// Each cluster gets its own SQL migrations, on its own primary and not on
// the other, recorded in its own goose table; a second run applies nothing.
func TestClustersMigrateEachItsOwn(t *testing.T) {
	cfg, _, defDB, evDB := twoClusters(t, 1)
	m := openManager(t, cfg, datalayer.WithMigrations(migDefault), datalayer.WithClusterMigrations("events", migEvents))
	ctx := testCtx(t)

	res, err := m.Migrate(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"default 00001_orders.sql", "events 00001_events.sql", "events 00002_events_ix.sql"}, labelled(res))

	assert.True(t, hasRelation(t, defDB, "mig_orders"))
	assert.False(t, hasRelation(t, evDB, "mig_orders"), "not on the other cluster")
	for _, rel := range []string{"mig_events", "mig_events_kind"} {
		assert.True(t, hasRelation(t, evDB, rel), rel)
		assert.False(t, hasRelation(t, defDB, rel), rel)
	}
	n, _ := gooseVersions(t, defDB)
	assert.EqualValues(t, 1, n, "the default cluster's goose table")
	n, _ = gooseVersions(t, evDB)
	assert.EqualValues(t, 2, n, "the events cluster's own goose table")

	res, err = m.Migrate(ctx)
	require.NoError(t, err)
	assert.Empty(t, res, "idempotent")

	// Migrations is the default cluster's runner; MigrationsOn a named one's.
	r, err := m.Migrations()
	require.NoError(t, err)
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.Len(t, st, 1)
	r, err = m.MigrationsOn("events")
	require.NoError(t, err)
	defer r.Close()
	st, err = r.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 2)
	assert.True(t, st[1].Applied)
	down, err := r.Down(ctx)
	require.NoError(t, err)
	assert.Equal(t, "events 00002_events_ix.sql", labelled([]migrations.Result{down})[0])
	assert.False(t, hasRelation(t, evDB, "mig_events_kind"), "rolled back on events")
	assert.True(t, hasRelation(t, defDB, "mig_orders"), "the default cluster untouched")
}

// A failing migration on the second cluster reports that cluster and file;
// the first cluster's migrations stay applied, and so do the second's
// before the failing one.
func TestClustersMigrateFailureNamesTheCluster(t *testing.T) {
	cfg, _, defDB, evDB := twoClusters(t, 1)
	bad := fstest.MapFS{
		"00001_events.sql": migEvents["00001_events.sql"],
		"00002_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE mig_broken (id int REFERENCES mig_no_such_table (id));\n")},
	}
	m := openManager(t, cfg, datalayer.WithMigrations(migDefault), datalayer.WithClusterMigrations("events", bad))

	res, err := m.Migrate(testCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unifieddb: migrate on cluster events: ")
	assert.Contains(t, err.Error(), "00002_broken.sql")
	assert.Equal(t, []string{"default 00001_orders.sql", "events 00001_events.sql"}, labelled(res))
	assert.True(t, hasRelation(t, defDB, "mig_orders"), "the first cluster's migrations stay applied")
	assert.True(t, hasRelation(t, evDB, "mig_events"))
	assert.False(t, hasRelation(t, evDB, "mig_broken"), "the failing migration rolled back")
	n, _ := gooseVersions(t, evDB)
	assert.EqualValues(t, 1, n)
}

// Several Managers migrating two clusters at once: none fails, and each
// migration is applied exactly once on each cluster.
func TestClustersManyManagersMigrateAtOnce(t *testing.T) {
	cfg, _, defDB, evDB := twoClusters(t, 1)
	ms := make([]*datalayer.Manager, 6)
	for i := range ms {
		ms[i] = openManager(t, cfg, datalayer.WithMigrations(migDefault), datalayer.WithClusterMigrations("events", migEvents))
	}
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, len(ms))
	applied := make([][]migrations.Result, len(ms))
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = m.Migrate(ctx)
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		assert.NoError(t, err, "instance %d", i)
		total += len(applied[i])
	}
	assert.Equal(t, 3, total, "the three migrations applied once among all instances")
	for _, db := range []*gorm.DB{defDB, evDB} {
		n, distinct := gooseVersions(t, db)
		assert.Equal(t, distinct, n, "each SQL migration applied exactly once")
	}
	n, _ := gooseVersions(t, evDB)
	assert.EqualValues(t, 2, n)
}

// clusters.NAME.migrations_dir and clusters.NAME.migration_host: the
// cluster's migrations run there, and a dead migration_host fails naming
// the cluster, though its primary's pool is fine.
func TestClustersMigrationsDirAndMigrationHost(t *testing.T) {
	cfg, events, defDB, evDB := twoClusters(t, 1)
	dir := t.TempDir()
	for name, f := range migEvents {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.Data, 0o600))
	}
	ev := cfg.Clusters["events"]
	ev.MigrationsDir, ev.MigrationHost = dir, events.Nodes()[0].Addr()
	cfg.Clusters = map[string]datalayer.Config{"events": ev}
	require.NoError(t, cfg.Validate())
	m := openManager(t, cfg)
	res, err := m.Migrate(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"events 00001_events.sql", "events 00002_events_ix.sql"}, labelled(res))
	assert.True(t, hasRelation(t, evDB, "mig_events"))
	assert.False(t, hasRelation(t, defDB, "mig_events"))

	ev.MigrationHost = deadAddr(t)
	cfg.Clusters = map[string]datalayer.Config{"events": ev}
	m = openManager(t, cfg)
	_, err = m.Migrate(testCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cluster events")
	assert.Contains(t, err.Error(), ev.MigrationHost)
}
