package tests

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

type cfgThing struct {
	ID        int64
	Code      string `gorm:"uniqueIndex"`
	CreatedAt time.Time
}

// GORM settings users set every day reach the handle (WithGormConfig), and
// connection run-time parameters reach every node (WithConnConfig).
func TestGormConfigAndConnSettings(t *testing.T) {
	ctx := testCtx(t)
	fixed := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := datalayer.New(ctx, testenv.Config(shared),
		datalayer.WithGormConfig(&gorm.Config{
			NamingStrategy: schema.NamingStrategy{TablePrefix: "cfgpfx_"},
			NowFunc:        func() time.Time { return fixed },
			TranslateError: true,
		}),
		datalayer.WithConnConfig(func(cc *pgx.ConnConfig) { cc.RuntimeParams["TimeZone"] = "Asia/Tokyo" }),
	)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	db := m.DB().WithContext(ctx)
	require.NoError(t, db.AutoMigrate(&cfgThing{}))
	t.Cleanup(func() { m.Conn(ctx, datalayer.Transactional).Exec("DROP TABLE cfgpfx_cfg_things") })

	var n int64
	require.NoError(t, db.Raw("SELECT count(*) FROM cfgpfx_cfg_things").Scan(&n).Error, "NamingStrategy names the table")
	th := cfgThing{Code: "a"}
	require.NoError(t, db.Create(&th).Error)
	assert.True(t, th.CreatedAt.Equal(fixed), "NowFunc sets CreatedAt: %v", th.CreatedAt)
	err = db.Create(&cfgThing{Code: "a"}).Error
	assert.ErrorIs(t, err, gorm.ErrDuplicatedKey, "TranslateError")

	for _, mode := range []datalayer.Mode{datalayer.ReadWrite, datalayer.ReadOnly} {
		var tz string
		require.NoError(t, m.Conn(ctx, mode).Raw("SHOW TimeZone").Scan(&tz).Error)
		assert.Equal(t, "Asia/Tokyo", tz, "run-time parameter in %s", mode)
	}
}

// simple_protocol: no server-side prepared statements (PgBouncer's
// transaction pooling needs that); results are the same.
func TestSimpleProtocol(t *testing.T) {
	ctx := testCtx(t)
	prepared := func(simple bool) int64 {
		cfg := testenv.Config(shared)
		cfg.SimpleProtocol = simple
		cfg.PoolSize, cfg.MaxOverflow = 1, 0 // one connection: the one asked
		m, err := datalayer.New(ctx, cfg)
		require.NoError(t, err)
		defer m.Close()
		rw := m.Conn(ctx, datalayer.ReadWrite)
		for i := range 3 {
			var got int
			require.NoError(t, rw.Raw("SELECT ?::int + 1", i).Scan(&got).Error)
			require.Equal(t, i+1, got)
		}
		var n int64
		require.NoError(t, rw.Raw("SELECT count(*) FROM pg_prepared_statements").Scan(&n).Error)
		return n
	}
	assert.Positive(t, prepared(false), "the default caches prepared statements")
	assert.Zero(t, prepared(true), "simple_protocol prepares nothing")
}
