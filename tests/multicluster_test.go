package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/registry"
)

// Models of the multi-cluster test: mcUser on the default cluster, mcEvent
// on "events" by its table (config tables:), mcAudit by registry.Place.
type mcUser struct {
	ID   uint
	Name string
}

type mcEvent struct {
	ID   uint
	Kind string
}

type mcAudit struct {
	ID   uint
	What string
}

// mcOrder (default cluster) has lines on the events cluster.
type mcOrder struct {
	ID    uint
	Lines []mcLine `gorm:"foreignKey:OrderID"`
}

type mcLine struct {
	ID      uint
	OrderID uint
	Sku     string
}

// mcOnPrimary opens plain GORM on database name of c's primary.
func mcOnPrimary(t *testing.T, c *pgcluster.Cluster, name string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(c.Nodes()[0].DSN()+" dbname="+name), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// twoClusters starts the "events" cluster (a primary and replicas) beside
// shared and gives each cluster a fresh database: the configuration of both
// (evTables placed on events), and plain GORM on each primary.
func twoClusters(t *testing.T, replicas int, evTables ...string) (cfg datalayer.Config, events *pgcluster.Cluster, defDB, evDB *gorm.DB) {
	t.Helper()
	events = startCluster(t, pgcluster.Options{Replicas: replicas})
	defName, evName := freshDatabaseOn(t, shared), freshDatabaseOn(t, events)
	cfg = testenv.Config(shared)
	cfg.Database = defName
	testenv.AddCluster(&cfg, "events", events, evName, evTables...)
	return cfg, events, mcOnPrimary(t, shared, defName), mcOnPrimary(t, events, evName)
}

// Two clusters behind one Manager: each statement runs on the cluster of its
// clause, its model or its table, and a transaction stays on one cluster.
func TestClustersRouteByPlacement(t *testing.T) {
	cfg, events, defDB, evDB := twoClusters(t, 1, "mc_events")
	require.NoError(t, defDB.AutoMigrate(&mcUser{}, &mcOrder{}))
	require.NoError(t, evDB.AutoMigrate(&mcEvent{}, &mcAudit{}, &mcLine{}))
	waitReplicated(t, shared, shared.Nodes()[0])
	waitReplicated(t, events, events.Nodes()[0])

	reg := registry.New()
	require.NoError(t, reg.Place("events", &mcAudit{}, &mcLine{}))
	m := openManager(t, cfg, datalayer.WithRegistry(reg))
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)

	// Writes land on their cluster's primary, and only there.
	require.NoError(t, db.Create(&mcUser{Name: "ann"}).Error)
	require.NoError(t, db.Create(&mcEvent{Kind: "login"}).Error)
	require.NoError(t, db.Create(&mcAudit{What: "placed"}).Error)
	count := func(db *gorm.DB, model any) (n int64) {
		require.NoError(t, db.Model(model).Count(&n).Error)
		return n
	}
	assert.EqualValues(t, 1, count(defDB, &mcUser{}))
	assert.EqualValues(t, 1, count(evDB, &mcEvent{}), "by its table")
	assert.EqualValues(t, 1, count(evDB, &mcAudit{}), "by registry.Place")

	// Reads too, in every mode.
	waitReplicated(t, shared, shared.Nodes()[0])
	waitReplicated(t, events, events.Nodes()[0])
	rctx := ctx
	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		var evs []mcEvent
		require.NoError(t, m.Conn(rctx, mode).Find(&evs).Error, mode.String())
		var users []mcUser
		require.NoError(t, m.Conn(rctx, mode).Find(&users).Error, mode.String())
		assert.Len(t, evs, 1, mode.String())
		assert.Len(t, users, 1, mode.String())
	}

	// Raw SQL names no model: the default cluster, unless a clause says.
	var n int64
	require.NoError(t, db.Raw("SELECT count(*) FROM mc_users").Scan(&n).Error)
	assert.EqualValues(t, 1, n)
	require.NoError(t, db.Clauses(datalayer.OnCluster("events")).Raw("SELECT count(*) FROM mc_events").Scan(&n).Error)
	assert.EqualValues(t, 1, n)
	require.NoError(t, db.Clauses(dbresolver.Use("events"), dbresolver.Write).Raw("SELECT count(*) FROM mc_audits").Scan(&n).Error)
	assert.EqualValues(t, 1, n)
	err := db.Clauses(datalayer.OnCluster("nope")).Raw("SELECT 1").Scan(&n).Error
	assert.ErrorIs(t, err, datalayer.ErrUnknownCluster)

	// A transaction stays on its cluster: a statement placed on another
	// fails at once, typed, naming both clusters and the table.
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&mcUser{Name: "bob"}).Error; err != nil {
			return err
		}
		return tx.Create(&mcEvent{Kind: "in-tx"}).Error
	})
	require.ErrorIs(t, err, datalayer.ErrCrossCluster)
	var cce *datalayer.CrossClusterError
	require.ErrorAs(t, err, &cce)
	assert.Equal(t, []string{"default", "events"}, cce.Clusters)
	assert.Equal(t, []string{"mc_events"}, cce.Tables)
	assert.EqualValues(t, 1, count(defDB, &mcUser{}), "the transaction rolled back")
	assert.EqualValues(t, 1, count(evDB, &mcEvent{}))

	// OnCluster begins a transaction on its cluster.
	require.NoError(t, db.Clauses(datalayer.OnCluster("events")).Transaction(func(tx *gorm.DB) error {
		return tx.Create(&mcEvent{Kind: "events-tx"}).Error
	}))
	assert.EqualValues(t, 2, count(evDB, &mcEvent{}))

	// dbresolver's clauses as they stand: Use with Write begins the
	// transaction on that cluster's primary; Read reads in a read-only
	// session.
	require.NoError(t, db.Clauses(dbresolver.Use("events"), dbresolver.Write).Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO mc_events (kind) VALUES ('dbresolver')").Error
	}))
	assert.EqualValues(t, 3, count(evDB, &mcEvent{}))
	var ro string
	require.NoError(t, db.Clauses(dbresolver.Read).Raw("SHOW transaction_read_only").Scan(&ro).Error)
	assert.Equal(t, "on", ro, "dbresolver.Read is ReadOnly")
	require.NoError(t, db.Clauses(dbresolver.Write).Raw("SHOW transaction_read_only").Scan(&ro).Error)
	assert.Equal(t, "off", ro, "dbresolver.Write is ReadWrite")

	// A preload of a model of another cluster runs there (GORM runs it as a
	// statement of its own).
	order := mcOrder{}
	require.NoError(t, db.Create(&order).Error)
	require.NoError(t, db.Create(&[]mcLine{{OrderID: order.ID, Sku: "a"}, {OrderID: order.ID, Sku: "b"}}).Error)
	assert.EqualValues(t, 2, count(evDB, &mcLine{}))
	var got mcOrder
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Preload("Lines").First(&got, order.ID).Error)
	assert.Len(t, got.Lines, 2, "the lines, read on events")
}

// AutoMigrate creates each model on its own cluster's primary. (A model
// with an association to another cluster's model is left out: GORM's
// AutoMigrate creates the tables a model's relations depend on too.)
func TestClustersAutoMigrateEachModelOnItsCluster(t *testing.T) {
	cfg, _, defDB, evDB := twoClusters(t, 1, "mc_events")

	reg := registry.New()
	require.NoError(t, reg.Register(&mcUser{}, &mcEvent{}))
	require.NoError(t, reg.Place("events", &mcAudit{}))
	m := openManager(t, cfg, datalayer.WithRegistry(reg))
	require.NoError(t, m.AutoMigrate(testCtx(t)))

	for _, table := range []string{"mc_users"} {
		assert.True(t, defDB.Migrator().HasTable(table), table)
		assert.False(t, evDB.Migrator().HasTable(table), table)
	}
	for _, table := range []string{"mc_events", "mc_audits"} {
		assert.True(t, evDB.Migrator().HasTable(table), table)
		assert.False(t, defDB.Migrator().HasTable(table), table)
	}
}
