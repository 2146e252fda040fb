package tests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// txrywItem is a table of the transaction, pinning and read-your-writes
// tests only.
type txrywItem struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

// onePerPool sizes every pool to one connection, so that a statement that
// leaves a pinned connection or needs a second one waits for pool_timeout.
func onePerPool(cfg *datalayer.Config) {
	cfg.PoolSize, cfg.MaxOverflow = 1, 0
	cfg.BatchPoolSize, cfg.TransactionalPoolSize = 1, 1
	cfg.PoolTimeout = 500 * time.Millisecond
}

func seedTxryw(t *testing.T, m *datalayer.Manager, n int) {
	t.Helper()
	ctx := testCtx(t)
	rw := m.Conn(ctx, datalayer.ReadWrite)
	require.NoError(t, rw.AutoMigrate(&txrywItem{}))
	require.NoError(t, rw.Exec("TRUNCATE txryw_items").Error)
	for i := range n {
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Create(&txrywItem{Name: fmt.Sprint("seed-", i)}).Error)
	}
	waitReplicated(t, shared, shared.Nodes()[0])
}

// A handle whose last statement was an Auto read still begins its next
// transaction on the primary: FindInBatches hands such a handle to its
// callback.
func TestAutoTransactionAfterAReadBeginsOnThePrimary(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	seedTxryw(t, m, 3)
	primary := shared.Nodes()[0].Port()

	var batch []txrywItem
	res := m.DB().WithContext(ctx).Model(&txrywItem{}).Where("name LIKE ?", "seed-%").FindInBatches(&batch, 10, func(tx *gorm.DB, _ int) error {
		return tx.Transaction(func(tx *gorm.DB) error {
			assert.Equal(t, primary, servedByRaw(t, tx), "the transaction runs on the primary")
			return tx.Create(&txrywItem{Name: "in-batch"}).Error
		})
	})
	require.NoError(t, res.Error)

	q := m.DB().WithContext(ctx).Model(&txrywItem{}).Where("name LIKE ?", "seed-%")
	var all []txrywItem
	require.NoError(t, q.Find(&all).Error)
	require.NoError(t, q.Transaction(func(tx *gorm.DB) error {
		return tx.Create(&txrywItem{Name: "after-read"}).Error
	}))
}

// db.Connection pins one connection: every statement inside runs on it, so
// session state (SET, advisory locks, temporary tables) holds, and with one
// connection per pool nothing waits for another.
func TestConnectionPinsOnePrimaryConnection(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, onePerPool)
	seedTxryw(t, m, 1)
	primary := shared.Nodes()[0].Port()

	err := m.DB().WithContext(ctx).Connection(func(tx *gorm.DB) error {
		var pid int
		require.NoError(t, tx.Raw("SELECT pg_backend_pid()").Scan(&pid).Error)
		require.NoError(t, tx.Exec("SET application_name = 'txryw-pinned'").Error)
		require.NoError(t, tx.Exec("CREATE TEMP TABLE txryw_tmp (v int)").Error)
		require.NoError(t, tx.Exec("INSERT INTO txryw_tmp VALUES (7)").Error)

		var one int
		require.NoError(t, tx.Raw("SELECT 1").Scan(&one).Error)
		var app string
		require.NoError(t, tx.Raw("SHOW application_name").Scan(&app).Error)
		assert.Equal(t, "txryw-pinned", app)
		var v int
		require.NoError(t, tx.Raw("SELECT v FROM txryw_tmp").Scan(&v).Error)
		assert.Equal(t, 7, v)

		// A model read stays on the pinned connection too.
		var got struct{ Pid, Port int }
		require.NoError(t, tx.Model(&txrywItem{}).Select("pg_backend_pid() AS pid, inet_server_port() AS port").Limit(1).Scan(&got).Error)
		assert.Equal(t, pid, got.Pid)
		assert.Equal(t, primary, got.Port)
		var n int64
		require.NoError(t, tx.Model(&txrywItem{}).Count(&n).Error)
		assert.EqualValues(t, 1, n)
		return nil
	})
	require.NoError(t, err)
}

// A nested transaction inside a ReadOnly transaction takes a savepoint: a
// savepoint is not a write.
func TestNestedTransactionInAReadOnlyTransaction(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	seedTxryw(t, m, 2)

	inner := errors.New("inner fails")
	err := m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
		require.NoError(t, tx.Transaction(func(tx *gorm.DB) error {
			var n int64
			return tx.Model(&txrywItem{}).Count(&n).Error
		}))
		// A failed nested transaction rolls back to its savepoint and the
		// outer one goes on.
		require.ErrorIs(t, tx.Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Model(&txrywItem{}).Count(&n).Error; err != nil {
				return err
			}
			return inner
		}), inner)
		// A statement the server rejects aborts the transaction up to the
		// savepoint only.
		require.Error(t, tx.Transaction(func(tx *gorm.DB) error {
			var v int
			return tx.Raw("SELECT 1/0").Scan(&v).Error
		}))
		var n int64
		require.NoError(t, tx.Model(&txrywItem{}).Count(&n).Error)
		assert.EqualValues(t, 2, n)
		// A write inside is still refused, prepared or not.
		require.ErrorIs(t, tx.Create(&txrywItem{Name: "no"}).Error, datalayer.ErrReadOnly)
		require.ErrorIs(t, tx.Session(&gorm.Session{PrepareStmt: true}).Create(&txrywItem{Name: "no"}).Error, datalayer.ErrReadOnly)
		return nil
	})
	require.NoError(t, err)
}

// Session{PrepareStmt: true} prepares statements on the node that runs them.
func TestPreparedStatementsArePreparedOnTheServingNode(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, onePerPool)
	seedTxryw(t, m, 2)

	prepared := func(db *gorm.DB) (port, n int) {
		var got struct{ Port, N int }
		// pgx names the statements database/sql prepares stmt_<digest>.
		require.NoError(t, db.Raw("SELECT inet_server_port() AS port, count(*) AS n FROM pg_prepared_statements WHERE left(name, 5) = 'stmt_' AND statement LIKE '%txryw_items%'").Scan(&got).Error)
		return got.Port, got.N
	}

	rw := m.Conn(ctx, datalayer.ReadWrite).Session(&gorm.Session{PrepareStmt: true})
	for i := range 3 {
		require.NoError(t, rw.Create(&txrywItem{Name: fmt.Sprint("prep-", i)}).Error)
		var got txrywItem
		require.NoError(t, rw.Where("name = ?", fmt.Sprint("prep-", i)).First(&got).Error)
		assert.Equal(t, fmt.Sprint("prep-", i), got.Name)
	}
	port, n := prepared(m.Conn(ctx, datalayer.ReadWrite))
	assert.Equal(t, shared.Nodes()[0].Port(), port)
	assert.Equal(t, 2, n, "the INSERT and the SELECT are prepared on the primary's connection")

	waitReplicated(t, shared, shared.Nodes()[0])
	auto := m.DB().WithContext(ctx).Session(&gorm.Session{PrepareStmt: true})
	for range 4 {
		var got []txrywItem
		require.NoError(t, auto.Where("name LIKE ?", "prep-%").Find(&got).Error)
		assert.Len(t, got, 3)
	}
	// Auto reads went round robin to both replicas: each prepared the SELECT.
	seen := map[int]int{}
	for range 4 {
		port, n := prepared(m.Conn(ctx, datalayer.ReadOnly))
		seen[port] = n
	}
	assert.Len(t, seen, 2)
	for port, n := range seen {
		assert.Equal(t, 1, n, "replica %d prepared the read", port)
	}
}

// Row and Rows route like every other read: after a write, a read-your-writes
// context reads it back, and an exhausted pool gives ErrPoolTimeout after
// pool_timeout instead of queueing until the context ends.
func TestRowAndRowsReadYourWritesAndPoolTimeout(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	m := newManager(t, c, func(cfg *datalayer.Config) {
		onePerPool(cfg)
		cfg.MaxReplicationLag = 0 // the paused replica stays in rotation
		cfg.ReadYourWritesTimeout = 50 * time.Millisecond
	})
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&txrywItem{}))
	waitReplicated(t, c, c.Node("primary"))
	replica := c.Node("replica1")
	require.NoError(t, replica.PauseReplay(ctx))
	t.Cleanup(func() { _ = replica.ResumeReplay(context.Background()) })

	rctx := datalayer.WithReadYourWrites(ctx)
	it := txrywItem{Name: "row"}
	require.NoError(t, m.DB().WithContext(rctx).Create(&it).Error)
	byID := func(db *gorm.DB) *gorm.DB { return db.Model(&txrywItem{}).Where("id = ?", it.ID) }

	var count int64
	require.NoError(t, byID(m.DB().WithContext(rctx)).Count(&count).Error)
	assert.EqualValues(t, 1, count)
	var n int
	require.NoError(t, byID(m.DB().WithContext(rctx)).Select("count(*)").Row().Scan(&n))
	assert.Equal(t, 1, n, "Row reads its own write")
	rows, err := byID(m.DB().WithContext(rctx)).Select("name").Rows()
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		names = append(names, name)
	}
	require.NoError(t, rows.Close())
	assert.Equal(t, []string{"row"}, names, "Rows reads its own write")

	// Hold the replica's only read connection.
	tx := m.Conn(ctx, datalayer.ReadOnly).Begin()
	require.NoError(t, tx.Error)
	t.Cleanup(func() { tx.Rollback() })
	var one int
	require.NoError(t, tx.Raw("SELECT 1").Scan(&one).Error)

	short, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	err = m.DB().WithContext(short).Model(&txrywItem{}).Select("count(*)").Row().Scan(&n)
	require.ErrorIs(t, err, datalayer.ErrPoolTimeout)
}

// Goroutines sharing one read-your-writes context each read their own write
// back, on a replica that replays WAL a little late: a write that finishes
// while another goroutine's read asks the primary for its WAL position is
// not lost.
func TestReadYourWritesSharedByGoroutines(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1, Settings: map[string]string{"recovery_min_apply_delay": "100ms"}})
	m := newManager(t, c, func(cfg *datalayer.Config) {
		cfg.MaxReplicationLag = 0 // the late replica stays in rotation
		cfg.ReadYourWritesTimeout = 2 * time.Second
	})
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&txrywItem{}))
	waitReplicated(t, c, c.Node("primary"))

	rctx := datalayer.WithReadYourWrites(ctx)
	var wg sync.WaitGroup
	var missed atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				it := txrywItem{Name: fmt.Sprint(w, "-", i)}
				if err := m.DB().WithContext(rctx).Create(&it).Error; err != nil {
					t.Errorf("create: %v", err)
					return
				}
				var got txrywItem
				if err := m.DB().WithContext(rctx).First(&got, it.ID).Error; err != nil {
					missed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, missed.Load(), "reads that missed their own write")
}

// With no primary known, a replica's lag is measured against the last
// position known of the lost primary: a replica paused behind does not
// re-enter rotation with lag 0, and reads keep seeing committed rows.
func TestNoPrimaryKnownKeepsALaggingReplicaOut(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.MaxReplicationLag = time.Second
		cfg.FailoverTimeout = time.Second
	})
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&txrywItem{}))
	waitReplicated(t, c, c.Node("primary"))
	lagging, fine := c.Node("replica1"), c.Node("replica2")
	require.NoError(t, lagging.PauseReplay(ctx))
	t.Cleanup(func() { _ = lagging.ResumeReplay(context.Background()) })

	// Writes go on until the paused replica is out of rotation.
	var last txrywItem
	require.Eventually(t, func() bool {
		last = txrywItem{Name: "late"}
		require.NoError(t, m.DB().WithContext(ctx).Create(&last).Error)
		for range 6 {
			if servedByModelRead(t, m.DB().WithContext(ctx), &txrywItem{}) != fine.Port() {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "the paused replica stays in rotation")
	waitReplicatedTo(t, fine, c.Node("primary"))
	// One context read its write back before the crash (its position is
	// known), the other did not.
	rctx, uctx := datalayer.WithReadYourWrites(ctx), datalayer.WithReadYourWrites(ctx)
	mine, unread := txrywItem{Name: "mine"}, txrywItem{Name: "unread"}
	require.NoError(t, m.DB().WithContext(rctx).Create(&mine).Error)
	require.NoError(t, m.DB().WithContext(rctx).First(&txrywItem{}, mine.ID).Error)
	require.NoError(t, m.DB().WithContext(uctx).Create(&unread).Error)
	waitReplicatedTo(t, fine, c.Node("primary"))

	require.NoError(t, c.Node("primary").Kill())
	// Let health checks see the primary gone.
	time.Sleep(time.Second)
	for i := range 20 {
		var got txrywItem
		assert.NoError(t, m.DB().WithContext(ctx).First(&got, last.ID).Error, "auto read %d", i)
		var own txrywItem
		assert.NoError(t, m.DB().WithContext(rctx).First(&own, mine.ID).Error, "read-your-writes read %d", i)
	}
	// Without a primary the unread write cannot be located: no replica may
	// answer for it.
	for i := range 3 {
		var got txrywItem
		err := m.DB().WithContext(uctx).First(&got, unread.ID).Error
		assert.ErrorIs(t, err, datalayer.ErrNoPrimary, "read-your-writes read %d of a write never read back", i)
	}
}

// waitReplicatedTo waits until replica has replayed primary's current WAL
// position.
func waitReplicatedTo(t *testing.T, replica, primary *pgcluster.Node) {
	t.Helper()
	ctx := testCtx(t)
	lsn, err := primary.QueryInt(ctx, "SELECT (pg_current_wal_lsn() - '0/0')::bigint")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		caught, err := replica.QueryInt(ctx, "SELECT ((pg_last_wal_replay_lsn() - '0/0')::bigint >= $1)::int", lsn)
		return err == nil && caught == 1
	}, 30*time.Second, 20*time.Millisecond, "replica %s did not replay up to %d", replica.Name(), lsn)
}

// A read-your-writes context also reads monotonically: once a read saw a
// row, no later read made with the context misses it, even with a replica
// in rotation that is behind.
func TestReadYourWritesContextReadsMonotonically(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, func(cfg *datalayer.Config) {
		cfg.MaxReplicationLag = 0 // the paused replica stays in rotation
	})
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&txrywItem{}))
	waitReplicated(t, c, c.Node("primary"))
	lagging, fine := c.Node("replica1"), c.Node("replica2")
	require.NoError(t, lagging.PauseReplay(ctx))
	t.Cleanup(func() { _ = lagging.ResumeReplay(context.Background()) })
	it := txrywItem{Name: "new"}
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Create(&it).Error)
	waitReplicatedTo(t, fine, c.Node("primary"))

	for range 5 {
		rctx := datalayer.WithReadYourWrites(ctx)
		seen := false
		for i := range 10 {
			var got txrywItem
			err := m.DB().WithContext(rctx).Where("id = ?", it.ID).Find(&got).Error
			require.NoError(t, err)
			if got.ID == it.ID {
				seen = true
			} else {
				assert.False(t, seen, "read %d missed a row an earlier read of the context saw", i)
			}
		}
	}
}

// GORM's prepared-statement deadlock case: many goroutines on a
// PrepareStmt session over one connection finish, right, and leave no
// connection in use.
func TestPreparedStatementsOnOneConnectionDoNotDeadlock(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	seedTxryw(t, m, 0)
	sqlDB, err := m.Conn(ctx, datalayer.ReadWrite).DB()
	require.NoError(t, err)
	sqlDB.SetMaxOpenConns(1)
	db := m.Conn(ctx, datalayer.ReadWrite).Session(&gorm.Session{PrepareStmt: true})

	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, db.Create(&txrywItem{Name: fmt.Sprint("dl-", i)}).Error)
			var got txrywItem
			assert.NoError(t, db.Where("name = ?", fmt.Sprint("dl-", i)).First(&got).Error)
		}()
	}
	wg.Wait()
	// A connection taken when the pool was full goes back once its rows
	// are closed, asynchronously: wait for it rather than for GORM's
	// immediate zero.
	assert.Eventually(t, func() bool { return sqlDB.Stats().InUse == 0 }, 5*time.Second, 10*time.Millisecond, "a connection stays in use")
	var n int64
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Model(&txrywItem{}).Where("name LIKE ?", "dl-%").Count(&n).Error)
	assert.EqualValues(t, 50, n)
}
