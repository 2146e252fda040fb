package tests

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/models"
)

func tableExists(t *testing.T, n *pgcluster.Node, table string) bool {
	t.Helper()
	v, err := n.QueryInt(testCtx(t), "SELECT (to_regclass($1) IS NOT NULL)::int", table)
	require.NoError(t, err)
	return v == 1
}

func TestMigrateRunsOnThePrimaryWhenHostIsAReplica(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	primary, replica := c.Node("primary"), c.Node("replica1")
	m := newAppManager(t, c, func(cfg *datalayer.Config) {
		// Misconfigured on purpose: host is the replica.
		cfg.Host, cfg.Port = replica.Host(), replica.Port()
		cfg.ReplicaHosts = []string{primary.Addr()}
	})
	res, err := m.Migrate(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, res, "SQL migrations applied")
	for _, table := range []string{"users", "prompts", "improvement_sessions", "goose_db_version"} {
		assert.True(t, tableExists(t, primary, table), table)
	}
	// A second run changes nothing.
	res, err = m.Migrate(ctx)
	require.NoError(t, err)
	assert.Empty(t, res)
}

func TestTenInstancesMigrateAtOnce(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		m := newAppManager(t, c, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = m.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "instance %d", i)
	}
	n := c.Nodes()[0]
	versions, err := n.QueryInt(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0")
	require.NoError(t, err)
	distinct, err := n.QueryInt(ctx, "SELECT count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0")
	require.NoError(t, err)
	assert.Positive(t, versions)
	assert.Equal(t, distinct, versions, "each SQL migration applied exactly once")
	assert.True(t, tableExists(t, n, "users"))
}

// unregistered is a model no registry knows.
type unregistered struct {
	ID   uint
	Name string
}

func TestStrictModeRefusesUnregisteredModels(t *testing.T) {
	// Read-your-writes: the read after AutoMigrate must see the new table.
	ctx := datalayer.WithReadYourWrites(testCtx(t))
	m := newManager(t, shared, func(c *datalayer.Config) { c.StrictMode = true })
	require.True(t, m.Registry().Strict())
	err := m.DB().WithContext(ctx).Find(&[]unregistered{}).Error
	require.ErrorIs(t, err, datalayer.ErrUnregisteredModel)
	assert.Contains(t, err.Error(), "unregistered")
	require.NoError(t, m.Registry().Register(&models.User{}), "the application opts in")
	require.NoError(t, m.AutoMigrate(ctx))
	require.NoError(t, m.DB().WithContext(ctx).Find(&[]models.User{}).Error, "a registered model works")
}

func TestModelsSeenInStatementsAreRegistered(t *testing.T) {
	ctx := datalayer.WithReadYourWrites(testCtx(t))
	m := newManager(t, shared, nil)
	_, known := m.Registry().Lookup(&unregistered{})
	require.False(t, known)
	require.NoError(t, m.DB().WithContext(ctx).AutoMigrate(&unregistered{}))
	require.NoError(t, m.DB().WithContext(ctx).Find(&[]unregistered{}).Error)
	table, known := m.Registry().Lookup(&unregistered{})
	assert.True(t, known)
	assert.Equal(t, "unregistereds", table)
}
