package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/plugin"
	"github.com/prompt-improver/unifieddb/registry"
)

// Models of the association tests: acCustomer on the default cluster, its
// orders and tags on "orders" (registry.Place). The join table of Tags is
// acCustomer's, so on the default cluster.
type acCustomer struct {
	ID     uint
	Name   string
	Orders []acOrder `gorm:"foreignKey:CustomerID"`
	Tags   []acTag   `gorm:"many2many:ac_customer_tags"`
}

type acOrder struct {
	ID         uint
	CustomerID *uint
	Customer   *acCustomer `gorm:"foreignKey:CustomerID"`
	Sku        string
	Hooked     bool
}

type acTag struct {
	ID   uint
	Name string
}

// BeforeCreate runs on the transaction GORM begins for the order: it reads
// ac_orders, a table only the orders cluster has, on its tx.
func (o *acOrder) BeforeCreate(tx *gorm.DB) error {
	var n int64
	if err := tx.Model(&acOrder{}).Count(&n).Error; err != nil {
		return err
	}
	o.Hooked = true
	return nil
}

// assocClusters opens a Manager on the shared cluster (default) and a
// cluster of its own named orders, each with its tables only, and plain
// GORM on each primary.
func assocClusters(t *testing.T) (m *datalayer.Manager, defDB, ordDB *gorm.DB) {
	t.Helper()
	orders := startCluster(t, pgcluster.Options{Replicas: 1})
	defName, ordName := freshDatabaseOn(t, shared), freshDatabaseOn(t, orders)
	defDB, ordDB = mcOnPrimary(t, shared, defName), mcOnPrimary(t, orders, ordName)
	for _, ddl := range []string{
		`CREATE TABLE ac_customers (id bigserial PRIMARY KEY, name text UNIQUE)`,
		`CREATE TABLE ac_customer_tags (ac_customer_id bigint, ac_tag_id bigint, PRIMARY KEY (ac_customer_id, ac_tag_id))`,
	} {
		require.NoError(t, defDB.Exec(ddl).Error)
	}
	for _, ddl := range []string{
		`CREATE TABLE ac_orders (id bigserial PRIMARY KEY, customer_id bigint, sku text UNIQUE, hooked boolean)`,
		`CREATE TABLE ac_tags (id bigserial PRIMARY KEY, name text)`,
	} {
		require.NoError(t, ordDB.Exec(ddl).Error)
	}
	waitReplicated(t, shared, shared.Nodes()[0])
	waitReplicated(t, orders, orders.Nodes()[0])

	reg := registry.New()
	require.NoError(t, reg.Place("orders", &acOrder{}, &acTag{}))
	cfg := testenv.Config(shared)
	cfg.Database = defName
	testenv.AddCluster(&cfg, "orders", orders, ordName)
	return openManager(t, cfg, datalayer.WithRegistry(reg)), defDB, ordDB
}

func countWhere(t *testing.T, db *gorm.DB, table, where string, args ...any) (n int64) {
	t.Helper()
	q := db.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	require.NoError(t, q.Count(&n).Error)
	return n
}

// Association saves of a model placed on another cluster run there, in
// every GORM call that saves associations; the parent's rows stay on its
// own cluster and the child's hooks run on its cluster's transaction.
func TestClustersAssociationSavesRunOnTheirCluster(t *testing.T) {
	m, defDB, ordDB := assocClusters(t)
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)

	// has-many and many2many: the customer and the join row on default, the
	// orders (hooks run) and the tag on orders.
	ann := acCustomer{Name: "ann", Orders: []acOrder{{Sku: "a1"}, {Sku: "a2"}}, Tags: []acTag{{Name: "vip"}}}
	require.NoError(t, db.Create(&ann).Error)
	assert.EqualValues(t, 1, countWhere(t, defDB, "ac_customers", "name = ?", "ann"))
	assert.EqualValues(t, 2, countWhere(t, ordDB, "ac_orders", "customer_id = ? AND hooked", ann.ID), "the orders, hooks run, on orders")
	assert.EqualValues(t, 1, countWhere(t, ordDB, "ac_tags", "name = ?", "vip"))
	assert.EqualValues(t, 1, countWhere(t, defDB, "ac_customer_tags", "ac_customer_id = ? AND ac_tag_id = ?", ann.ID, ann.Tags[0].ID), "the join row, with its owner")
	assert.True(t, ann.Orders[0].Hooked && ann.Orders[0].ID != 0, "GORM's values written back")

	// belongs-to: the customer first (its key goes into the order), on default.
	bob := acOrder{Sku: "b1", Customer: &acCustomer{Name: "bob"}}
	require.NoError(t, db.Create(&bob).Error)
	require.NotNil(t, bob.CustomerID)
	assert.EqualValues(t, 1, countWhere(t, defDB, "ac_customers", "id = ? AND name = ?", *bob.CustomerID, "bob"))
	assert.EqualValues(t, 1, countWhere(t, ordDB, "ac_orders", "sku = ? AND customer_id = ?", "b1", *bob.CustomerID))

	// In another mode: the call's mode on both clusters.
	cy := acCustomer{Name: "cy", Orders: []acOrder{{Sku: "c1"}}}
	require.NoError(t, m.Conn(ctx, datalayer.Batch).Create(&cy).Error)
	assert.EqualValues(t, 1, countWhere(t, ordDB, "ac_orders", "customer_id = ?", cy.ID))

	// Save and Updates save new associations where they belong.
	ann.Orders = append(ann.Orders, acOrder{Sku: "a3"})
	require.NoError(t, db.Save(&ann).Error)
	ann.Orders = append(ann.Orders, acOrder{Sku: "a4"})
	require.NoError(t, db.Updates(&ann).Error)
	assert.EqualValues(t, 4, countWhere(t, ordDB, "ac_orders", "customer_id = ?", ann.ID))

	// Association: Append, Replace (the old orders let go, on orders), and a
	// many2many Append.
	require.NoError(t, db.Model(&ann).Association("Orders").Append(&acOrder{Sku: "a5"}))
	assert.EqualValues(t, 5, countWhere(t, ordDB, "ac_orders", "customer_id = ?", ann.ID))
	require.NoError(t, db.Model(&ann).Association("Orders").Replace(&acOrder{Sku: "a6"}))
	assert.EqualValues(t, 1, countWhere(t, ordDB, "ac_orders", "customer_id = ?", ann.ID))
	assert.EqualValues(t, 5, countWhere(t, ordDB, "ac_orders", "customer_id IS NULL"))
	require.NoError(t, db.Model(&ann).Association("Tags").Append(&acTag{Name: "new"}))
	assert.EqualValues(t, 2, countWhere(t, defDB, "ac_customer_tags", "ac_customer_id = ?", ann.ID))
	assert.EqualValues(t, 2, countWhere(t, ordDB, "ac_tags", ""))

	// Preloads read each association on its cluster, the join rows with
	// their owner.
	var got acCustomer
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Preload("Orders").Preload("Tags").First(&got, ann.ID).Error)
	assert.Len(t, got.Orders, 1)
	assert.Len(t, got.Tags, 2)

	// Nothing landed on the wrong cluster (each has only its own tables, so
	// a stray statement would have failed; the counts say none was lost).
	assert.EqualValues(t, 3, countWhere(t, defDB, "ac_customers", ""))
	assert.EqualValues(t, 8, countWhere(t, ordDB, "ac_orders", ""))
}

// Inside a transaction the application began, an association save on
// another cluster is refused, typed, and nothing is written on either
// cluster. Outside one, a failure is GORM's, and what committed on the
// other cluster before it stays (docs/gorm-differences.md).
func TestClustersAssociationSaveFailures(t *testing.T) {
	m, defDB, ordDB := assocClusters(t)
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)

	err := db.Transaction(func(tx *gorm.DB) error {
		return tx.Create(&acCustomer{Name: "tx", Orders: []acOrder{{Sku: "t1"}}}).Error
	})
	require.ErrorIs(t, err, datalayer.ErrCrossCluster)
	var cce *datalayer.CrossClusterError
	require.ErrorAs(t, err, &cce)
	assert.Equal(t, []string{"default", "orders"}, cce.Clusters)
	assert.Equal(t, []string{"ac_orders"}, cce.Tables)
	tx := db.Clauses(datalayer.OnCluster("orders")).Begin()
	require.NoError(t, tx.Error)
	err = tx.Create(&acOrder{Sku: "t2", Customer: &acCustomer{Name: "tx2"}}).Error
	require.ErrorAs(t, err, &cce, "db.Begin too, belongs-to too")
	assert.Equal(t, []string{"orders", "default"}, cce.Clusters)
	assert.Equal(t, []string{"ac_customers"}, cce.Tables)
	require.NoError(t, tx.Rollback().Error)
	assert.EqualValues(t, 0, countWhere(t, defDB, "ac_customers", ""))
	assert.EqualValues(t, 0, countWhere(t, ordDB, "ac_orders", ""))

	// A delete's cascade (Select of an association) is no save: it stays in
	// GORM's transaction and is refused; the customer stays.
	del := acCustomer{Name: "del"}
	require.NoError(t, db.Create(&del).Error)
	require.ErrorIs(t, db.Select("Orders").Delete(&del).Error, datalayer.ErrCrossCluster)
	assert.EqualValues(t, 1, countWhere(t, defDB, "ac_customers", "name = ?", "del"))

	// The parent's INSERT fails (a unique name): GORM saves has-many rows
	// after it, so none is written.
	require.NoError(t, db.Create(&acCustomer{Name: "dup"}).Error)
	err = db.Create(&acCustomer{Name: "dup", Orders: []acOrder{{Sku: "d1"}}}).Error
	assert.Equal(t, "23505", plugin.SQLState(err))
	assert.EqualValues(t, 0, countWhere(t, ordDB, "ac_orders", ""))

	// An order fails on orders (a unique sku): GORM's error, and the
	// customer's transaction on default rolls back.
	require.NoError(t, db.Create(&acOrder{Sku: "o1"}).Error)
	err = db.Create(&acCustomer{Name: "eve", Orders: []acOrder{{Sku: "o1"}}}).Error
	assert.Equal(t, "23505", plugin.SQLState(err))
	assert.EqualValues(t, 0, countWhere(t, defDB, "ac_customers", "name = ?", "eve"))

	// belongs-to is saved before its parent (GORM needs its key): when the
	// order then fails, the customer committed on default stays.
	err = db.Create(&acOrder{Sku: "o1", Customer: &acCustomer{Name: "kept"}}).Error
	assert.Equal(t, "23505", plugin.SQLState(err))
	assert.EqualValues(t, 1, countWhere(t, defDB, "ac_customers", "name = ?", "kept"), "committed on its own cluster")
	assert.EqualValues(t, 1, countWhere(t, ordDB, "ac_orders", "sku = ?", "o1"))
}
