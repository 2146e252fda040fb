package tests

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

// gxWriter writes in its AfterFind hook, in the session GORM gives the hook.
type gxWriter struct {
	ID   uint
	Name string
}

func (*gxWriter) AfterFind(tx *gorm.DB) error {
	return tx.Exec("INSERT INTO gx_notes (name) VALUES ('from a hook')").Error
}

// A Conn handle keeps its mode in its pool, not in a clause (plugin.InMode).
// What a clause did must still hold: an explicit mode clause overrides it,
// for the statement and every statement GORM derives from it; a handle
// reused after a write in GORM's default transaction keeps its mode (GORM
// puts Config.ConnPool back then); db.Connection on a ReadOnly handle still
// refuses writes before sending them; a ReadOnly clause inside a transaction
// or on a pinned connection reaches the hooks (the plugin marks the context
// for that pool, which cannot say the mode).
func TestConnHandleModeOverridesAndConnection(t *testing.T) {
	ctx := testCtx(t)
	m := managerOn(t, freshDatabase(t), nil)
	primary, replicas := gxSchema(t, ctx, m,
		"CREATE TABLE gx_writers (id bigserial PRIMARY KEY, name text)",
		"INSERT INTO gx_writers (name) VALUES ('w')")

	t.Run("Auto clause on a ReadWrite handle reaches the preload and the hook", func(t *testing.T) {
		var home gxHome
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Clauses(plugin.Auto).Preload("Kids").First(&home).Error)
		require.Len(t, home.Kids, 2)
		assert.True(t, replicas[home.Kids[0].Port], "preload served by %d, not a replica", home.Kids[0].Port)
		assert.True(t, replicas[home.HookPort], "AfterFind read served by %d, not a replica", home.HookPort)
	})

	t.Run("ReadWrite clause on a ReadOnly handle reaches the preload and the hook", func(t *testing.T) {
		var home gxHome
		require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Clauses(plugin.ReadWrite).Preload("Kids").First(&home).Error)
		require.Len(t, home.Kids, 2)
		assert.Equal(t, primary, home.Kids[0].Port, "preload")
		assert.Equal(t, primary, home.HookPort, "AfterFind read")
	})

	t.Run("ReadWrite handle reused after a write in GORM's transaction", func(t *testing.T) {
		// One handle for several statements (GORM's clone 0): gxNote's
		// AfterCreate makes GORM wrap the INSERT in its transaction, whose
		// end sets the handle's ConnPool back to its Config's.
		h := m.Conn(ctx, datalayer.ReadWrite).Where("true")
		require.NoError(t, h.Create(&gxNote{Name: "reused"}).Error)
		var port int
		require.NoError(t, h.Table("gx_kid_ports").Select("port").Limit(1).Scan(&port).Error)
		assert.Equal(t, primary, port, "model read on the reused ReadWrite handle")
	})

	t.Run("InMode replaces the mode clause of the handle it starts from", func(t *testing.T) {
		h := plugin.InMode(m.DB().WithContext(ctx).Clauses(plugin.ReadOnly), plugin.ReadWrite)
		var home gxHome
		require.NoError(t, h.Preload("Kids").First(&home).Error)
		require.Len(t, home.Kids, 2)
		assert.Equal(t, primary, home.Kids[0].Port, "preload")
		assert.Equal(t, primary, home.HookPort, "AfterFind read")
	})

	t.Run("Connection on a ReadOnly handle refuses writes before sending", func(t *testing.T) {
		err := m.Conn(ctx, datalayer.ReadOnly).Connection(func(tx *gorm.DB) error {
			return tx.Exec("INSERT INTO gx_notes (name) VALUES ('pinned')").Error
		})
		require.ErrorIs(t, err, plugin.ErrReadOnly)
		assert.Contains(t, err.Error(), "refused before it was sent")
	})

	t.Run("ReadOnly clause in a ReadWrite transaction reaches the hook's write", func(t *testing.T) {
		err := m.Conn(ctx, datalayer.ReadWrite).Transaction(func(tx *gorm.DB) error {
			var w gxWriter
			return tx.Clauses(plugin.ReadOnly).First(&w).Error
		})
		require.ErrorIs(t, err, plugin.ErrReadOnly)
	})

	t.Run("ReadOnly clause on a pinned ReadWrite connection reaches the hook's write", func(t *testing.T) {
		err := m.Conn(ctx, datalayer.ReadWrite).Connection(func(tx *gorm.DB) error {
			var w gxWriter
			return tx.Clauses(plugin.ReadOnly).First(&w).Error
		})
		require.ErrorIs(t, err, plugin.ErrReadOnly)
	})

	t.Run("the hook's write runs in the ReadWrite transaction without the clause", func(t *testing.T) {
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Transaction(func(tx *gorm.DB) error {
			var w gxWriter
			return tx.First(&w).Error
		}))
	})

	t.Run("Connection on a ReadWrite handle: a hook's read stays on the pinned primary connection", func(t *testing.T) {
		var home gxHome
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Connection(func(tx *gorm.DB) error {
			return tx.First(&home).Error
		}))
		assert.Equal(t, primary, home.HookPort, "AfterFind read")
	})
}

// The statements of a Conn handle allocate what plain GORM's do: no mode
// clause to copy, no context to derive (issue 12). Both sides are dry runs
// on the same node (the plugin routes a dry run like any statement; GORM
// builds the SQL and sends nothing), so the counts are exact.
func TestConnAllocatesAsPlainGORM(t *testing.T) {
	ctx := testCtx(t)
	name := freshDatabase(t)
	cfg := newManagerConfig(t)
	cfg.Database = name
	m, err := datalayer.New(ctx, cfg, datalayer.WithGormConfig(&gorm.Config{DryRun: true}))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	plain, err := gorm.Open(postgres.Open(shared.Nodes()[0].DSN()+" dbname="+name), &gorm.Config{DryRun: true, Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := plain.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })

	bg := context.Background()
	// The least of three counts: AllocsPerRun counts the whole process's
	// allocations, and the Manager's probes, running in the background,
	// add theirs to whichever count they overlap (one did, once in many
	// runs: 47 against 46). They can only add; a statement's own
	// allocation shows in every count.
	allocs := func(conn func() *gorm.DB) float64 {
		var h gxNote
		require.NoError(t, conn().First(&h, 1).Error) // the schema cache
		least := math.Inf(1)
		for range 3 {
			least = min(least, testing.AllocsPerRun(200, func() {
				h = gxNote{}
				_ = conn().First(&h, 1)
			}))
		}
		return least
	}
	want := allocs(func() *gorm.DB { return plain.WithContext(bg) })
	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		got := allocs(func() *gorm.DB { return m.Conn(bg, mode) })
		assert.Equal(t, want, got, "allocations of m.Conn(ctx, %s).First vs plain GORM's WithContext(ctx).First", mode)
	}
}
