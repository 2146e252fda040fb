package tests

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/plugin"
)

// routeItem is a table of the routing tests only.
type routeItem struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

func TestModesRouteToTheDocumentedNodes(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	nodes := shared.Nodes()
	primary := nodes[0].Port()
	replicas := map[int]bool{nodes[1].Port(): true, nodes[2].Port(): true}

	require.NoError(t, m.DB().WithContext(ctx).AutoMigrate(&routeItem{}))
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Create(&routeItem{Name: "a"}).Error)
	waitReplicated(t, shared, nodes[0])

	t.Run("auto model reads go to replicas, round robin", func(t *testing.T) {
		seen := map[int]int{}
		for range 10 {
			seen[servedByModelRead(t, m.Conn(ctx, datalayer.Auto), &routeItem{})]++
		}
		for port := range seen {
			assert.True(t, replicas[port], "auto read served by %d, not a replica", port)
		}
		assert.Len(t, seen, 2, "both replicas serve reads: %v", seen)
	})
	t.Run("auto raw SQL goes to the primary", func(t *testing.T) {
		assert.Equal(t, primary, servedByRaw(t, m.DB().WithContext(ctx)))
		// A side-effecting SELECT must work: it never reaches a replica.
		require.NoError(t, m.DB().WithContext(ctx).Exec("CREATE SEQUENCE IF NOT EXISTS route_seq").Error)
		var v int64
		require.NoError(t, m.DB().WithContext(ctx).Raw("SELECT nextval('route_seq')").Scan(&v).Error)
		assert.Positive(t, v)
	})
	t.Run("auto locking reads go to the primary", func(t *testing.T) {
		err := m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var port int
			return tx.Raw("SELECT inet_server_port()").Scan(&port).Error
		})
		require.NoError(t, err)
	})
	t.Run("read_only reads go to replicas, raw SQL too", func(t *testing.T) {
		assert.True(t, replicas[servedByModelRead(t, m.Conn(ctx, datalayer.ReadOnly), &routeItem{})])
		assert.True(t, replicas[servedByRaw(t, m.Conn(ctx, datalayer.ReadOnly))])
	})
	for _, mode := range []datalayer.Mode{datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		t.Run(mode.String()+" goes to the primary", func(t *testing.T) {
			assert.Equal(t, primary, servedByModelRead(t, m.Conn(ctx, mode), &routeItem{}))
			assert.Equal(t, primary, servedByRaw(t, m.Conn(ctx, mode)))
		})
	}
	t.Run("batch has its own pool and statement timeout", func(t *testing.T) {
		var batchTimeout, normalTimeout string
		require.NoError(t, m.Conn(ctx, datalayer.Batch).Raw("SHOW statement_timeout").Scan(&batchTimeout).Error)
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Raw("SHOW statement_timeout").Scan(&normalTimeout).Error)
		assert.Equal(t, "10min", batchTimeout)
		assert.Equal(t, "0", normalTimeout)
	})
	t.Run("writes in auto go to the primary", func(t *testing.T) {
		item := routeItem{Name: "b"}
		require.NoError(t, m.DB().WithContext(ctx).Create(&item).Error)
		n, err := nodes[0].QueryInt(ctx, "SELECT count(*) FROM route_items WHERE id = $1", item.ID)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n)
	})
	t.Run("transactions stay on their connection", func(t *testing.T) {
		err := m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for range 3 {
				assert.Equal(t, primary, servedByModelRead(t, tx, &routeItem{}))
			}
			return nil
		})
		require.NoError(t, err)
		err = m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
			port := servedByModelRead(t, tx, &routeItem{})
			assert.True(t, replicas[port], "read-only transaction on %d", port)
			for range 3 {
				assert.Equal(t, port, servedByRaw(t, tx))
			}
			return nil
		})
		require.NoError(t, err)
	})
}

// missingTable has no table: a statement that reached the server would fail
// with "relation does not exist", not ErrReadOnly.
type missingTable struct {
	ID   uint
	Name string
}

func TestReadOnlyRefusesWritesBeforeSending(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	ro := func() *gorm.DB { return m.Conn(ctx, datalayer.ReadOnly) }
	cases := map[string]error{
		"create": ro().Create(&missingTable{Name: "x"}).Error,
		"update": ro().Model(&missingTable{ID: 1}).Update("name", "y").Error,
		"delete": ro().Delete(&missingTable{ID: 1}).Error,
		"exec":   ro().Exec("INSERT INTO missing_tables(name) VALUES ('x')").Error,
		"save":   ro().Save(&missingTable{ID: 1, Name: "z"}).Error,
	}
	for name, err := range cases {
		assert.ErrorIs(t, err, datalayer.ErrReadOnly, name)
		assert.NotContains(t, err.Error(), "does not exist", name)
	}
	// Inside a read-only transaction too.
	err := ro().Transaction(func(tx *gorm.DB) error {
		return tx.Create(&missingTable{Name: "x"}).Error
	})
	assert.ErrorIs(t, err, datalayer.ErrReadOnly)
}

func TestReadOnlyServerSessionsRefuseRawWrites(t *testing.T) {
	ctx := testCtx(t)
	for name, mutate := range map[string]func(*datalayer.Config){
		"on replicas": nil,
		// No replica: ReadOnly falls back to the primary, still read-only.
		"on the primary fallback": func(c *datalayer.Config) { c.ReplicaHosts = nil },
	} {
		t.Run(name, func(t *testing.T) {
			m := newManager(t, shared, mutate)
			require.NoError(t, m.DB().WithContext(ctx).Exec("CREATE SEQUENCE IF NOT EXISTS ro_seq").Error)
			waitReplicated(t, shared, shared.Nodes()[0])
			var v int64
			err := m.Conn(ctx, datalayer.ReadOnly).Raw("SELECT nextval('ro_seq')").Scan(&v).Error
			require.ErrorIs(t, err, datalayer.ErrReadOnly)
			assert.Equal(t, "25006", plugin.SQLState(err), "the server refused it")
		})
	}
}

func TestTransactionCommitRollbackAndRetry(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	require.NoError(t, m.DB().WithContext(ctx).AutoMigrate(&models.User{}))
	primary := shared.Nodes()[0].Port()
	count := func(email string) int64 {
		var n int64
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Model(&models.User{}).Where("email = ?", email).Count(&n).Error)
		return n
	}

	t.Run("commit on the primary", func(t *testing.T) {
		err := m.Transaction(ctx, func(tx *gorm.DB) error {
			assert.Equal(t, primary, servedByRaw(t, tx))
			return tx.Create(&models.User{Name: "c", Email: "commit@example.test", Active: true}).Error
		})
		require.NoError(t, err)
		assert.EqualValues(t, 1, count("commit@example.test"))
	})
	t.Run("rollback returns fn's error", func(t *testing.T) {
		boom := errors.New("boom")
		err := m.Transaction(ctx, func(tx *gorm.DB) error {
			require.NoError(t, tx.Create(&models.User{Name: "r", Email: "rollback@example.test"}).Error)
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.EqualValues(t, 0, count("rollback@example.test"))
	})
	for _, code := range []string{"serialization_failure", "deadlock_detected"} {
		t.Run("retries "+code, func(t *testing.T) {
			var attempts atomic.Int32
			email := code + "@example.test"
			err := m.Transaction(ctx, func(tx *gorm.DB) error {
				if err := tx.Create(&models.User{Name: "s", Email: email}).Error; err != nil {
					return err
				}
				if attempts.Add(1) == 1 {
					return tx.Exec("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '" + code + "'; END $$").Error
				}
				return nil
			})
			require.NoError(t, err)
			assert.EqualValues(t, 2, attempts.Load())
			assert.EqualValues(t, 1, count(email), "committed exactly once")
		})
	}
	t.Run("gives up after transaction_retries", func(t *testing.T) {
		var attempts atomic.Int32
		err := m.Transaction(ctx, func(tx *gorm.DB) error {
			attempts.Add(1)
			return tx.Exec("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$").Error
		})
		require.Error(t, err)
		assert.Equal(t, "40001", plugin.SQLState(err))
		assert.EqualValues(t, m.Config().TransactionRetries+1, attempts.Load())
	})
	t.Run("never retries other errors", func(t *testing.T) {
		var attempts atomic.Int32
		err := m.Transaction(ctx, func(tx *gorm.DB) error {
			attempts.Add(1)
			return tx.Create(&models.User{Name: "dup", Email: "commit@example.test"}).Error
		})
		require.Error(t, err)
		assert.Equal(t, "23505", plugin.SQLState(err))
		assert.EqualValues(t, 1, attempts.Load())
	})
}

func TestPoolTimeoutWhenEveryConnectionIsBusy(t *testing.T) {
	ctx := testCtx(t)
	const wait = time.Second
	m := newManager(t, shared, func(c *datalayer.Config) {
		c.PoolSize, c.MaxOverflow, c.PoolTimeout = 1, 1, wait
	})
	// Hold both connections of the primary's write pool.
	var held []*gorm.DB
	for range 2 {
		tx := m.Conn(ctx, datalayer.ReadWrite).Begin()
		require.NoError(t, tx.Error)
		require.NoError(t, tx.Exec("SELECT 1").Error)
		held = append(held, tx)
	}
	start := time.Now()
	var one int
	err := m.Conn(ctx, datalayer.ReadWrite).Raw("SELECT 1").Scan(&one).Error
	elapsed := time.Since(start)
	require.ErrorIs(t, err, datalayer.ErrPoolTimeout)
	assert.InDelta(t, wait.Seconds(), elapsed.Seconds(), 0.2*wait.Seconds(), "waited %s", elapsed)

	// The other pools are not starved.
	require.NoError(t, m.Conn(ctx, datalayer.Batch).Raw("SELECT 1").Scan(&one).Error)
	require.NoError(t, m.Conn(ctx, datalayer.Transactional).Raw("SELECT 1").Scan(&one).Error)

	// A freed connection serves the next caller.
	require.NoError(t, held[0].Rollback().Error)
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Raw("SELECT 1").Scan(&one).Error)
	require.NoError(t, held[1].Rollback().Error)
}

// A connection held by rows still being read counts too: the pool has
// opened every connection it may, so the next statement waits pool_timeout
// instead of queueing in database/sql until its context ends
// (internal/cluster/held.go: the pool counts its open connections, not its
// statements).
func TestPoolTimeoutWhenOpenRowsHoldTheConnection(t *testing.T) {
	ctx := testCtx(t)
	const wait = 500 * time.Millisecond
	m := newManager(t, shared, func(c *datalayer.Config) {
		c.PoolSize, c.MaxOverflow, c.PoolTimeout = 1, 0, wait
	})
	rows, err := m.Conn(ctx, datalayer.ReadWrite).Raw("SELECT generate_series(1, 3)").Rows()
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 10*wait)
	defer cancel()
	start := time.Now()
	var one int
	err = m.Conn(short, datalayer.ReadWrite).Raw("SELECT 1").Scan(&one).Error
	elapsed := time.Since(start)
	require.ErrorIs(t, err, datalayer.ErrPoolTimeout)
	assert.Less(t, elapsed, 4*wait, "waited %s", elapsed)
	require.NoError(t, rows.Close())
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Raw("SELECT 1").Scan(&one).Error)
}

func TestReplicaDownAtStart(t *testing.T) {
	ctx := testCtx(t)
	dead := deadAddr(t)
	m := newManager(t, shared, func(c *datalayer.Config) {
		c.ReplicaHosts = append([]string{dead}, c.ReplicaHosts...)
	})
	require.NoError(t, m.DB().WithContext(ctx).AutoMigrate(&routeItem{}))
	// The shared cluster's replicas are asynchronous: the table must reach
	// them before the reads (once it took longer, on a loaded machine).
	waitReplicated(t, shared, shared.Nodes()[0])
	for range 20 {
		var items []routeItem
		require.NoError(t, m.DB().WithContext(ctx).Limit(1).Find(&items).Error)
	}
}

func TestNewRejectsABadConfig(t *testing.T) {
	cfg := datalayer.DefaultConfig() // no database
	cfg.Password = "hunter2-SECRET"
	cfg.Port = 70000
	_, err := datalayer.New(testCtx(t), cfg)
	require.ErrorIs(t, err, datalayer.ErrInvalidConfig)
	var ce *datalayer.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Has("database"))
	assert.True(t, ce.Has("port"))
	assert.NotContains(t, err.Error(), "hunter2-SECRET")
}

func TestCloseLeavesNoGoroutineAndRefusesLaterCalls(t *testing.T) {
	ctx := testCtx(t)
	before := goleak.IgnoreCurrent()
	cfg := newManagerConfig(t)
	// The hooks' goroutine, pinned connections and a transaction's
	// dedicated connection all end with Close too.
	m, err := datalayer.New(ctx, cfg, datalayer.WithHooks(datalayer.Hooks{NodeUp: func(string) {}}))
	require.NoError(t, err)
	var one int
	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		require.NoError(t, m.Conn(ctx, mode).Raw("SELECT 1").Scan(&one).Error)
		require.NoError(t, m.Conn(ctx, mode).Connection(func(c *gorm.DB) error { return c.Raw("SELECT 1").Scan(&one).Error }))
	}
	require.NoError(t, m.Transaction(ctx, func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error }))
	require.NoError(t, m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error }))

	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "Close is idempotent")
	goleak.VerifyNone(t, before)

	assert.ErrorIs(t, m.DB().WithContext(ctx).Raw("SELECT 1").Scan(&one).Error, datalayer.ErrClosed)
	assert.ErrorIs(t, m.Conn(ctx, datalayer.ReadOnly).Find(&[]routeItem{}).Error, datalayer.ErrClosed)
	assert.ErrorIs(t, m.DB().WithContext(ctx).Create(&routeItem{Name: "late"}).Error, datalayer.ErrClosed)
	assert.ErrorIs(t, m.Transaction(ctx, func(tx *gorm.DB) error { return nil }), datalayer.ErrClosed)
}

func TestParseModeRoundTrips(t *testing.T) {
	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		got, err := datalayer.ParseMode(mode.String())
		require.NoError(t, err)
		assert.Equal(t, mode, got)
	}
	legacy := map[string]datalayer.Mode{"mcp": datalayer.ReadWrite, "ml": datalayer.Batch, "readonly": datalayer.ReadOnly, "admin": datalayer.Transactional}
	for name, want := range legacy {
		got, err := datalayer.ParseMode(name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	_, err := datalayer.ParseMode("fast")
	assert.Error(t, err)
}
