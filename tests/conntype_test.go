package tests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// conntypeItem is a table of the connection-type tests only.
type conntypeItem struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

func conntypeManager(t *testing.T, c *pgcluster.Cluster, mutate func(*datalayer.Config), opts ...datalayer.Option) *datalayer.Manager {
	t.Helper()
	cfg := testenv.Config(c)
	if mutate != nil {
		mutate(&cfg)
	}
	var m *datalayer.Manager
	require.NoError(t, stmt(t, testCtx(t), "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, opts...)
		return err
	}))
	t.Cleanup(func() { m.Close() })
	require.NoError(t, m.Conn(testCtx(t), datalayer.ReadWrite).AutoMigrate(&conntypeItem{}))
	return m
}

func countConntype(t *testing.T, m *datalayer.Manager, name string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, m.Conn(testCtx(t), datalayer.ReadWrite).Model(&conntypeItem{}).Where("name = ?", name).Count(&n).Error)
	return n
}

// Inside a transaction GORM hands user code a *sql.Tx, and on a pinned
// connection a *sql.Conn, as plain GORM does, in every mode and however the
// transaction was begun.
func TestConnPoolIsWhatPlainGormHands(t *testing.T) {
	ctx := testCtx(t)
	m := conntypeManager(t, shared, nil)
	isTx := func(t *testing.T, what string) func(tx *gorm.DB) error {
		return func(tx *gorm.DB) error {
			_, ok := tx.Statement.ConnPool.(*sql.Tx)
			assert.True(t, ok, "%s: ConnPool is %T; want *sql.Tx", what, tx.Statement.ConnPool)
			var one int
			return tx.Raw("SELECT 1").Scan(&one).Error
		}
	}

	require.NoError(t, m.DB().WithContext(ctx).Transaction(isTx(t, "m.DB().Transaction")))
	require.NoError(t, m.Transaction(ctx, isTx(t, "m.Transaction")))
	tx := m.DB().WithContext(ctx).Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, isTx(t, "m.DB().Begin()")(tx))
	require.NoError(t, tx.Rollback().Error)

	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		require.NoError(t, m.Conn(ctx, mode).Transaction(isTx(t, "m.Conn("+mode.String()+").Transaction")))
		require.NoError(t, m.DB().WithContext(ctx).Clauses(mode).Transaction(func(tx *gorm.DB) error {
			// A nested transaction (a savepoint) too.
			return tx.Transaction(isTx(t, "nested in Clauses("+mode.String()+").Transaction"))
		}))
	}

	require.NoError(t, m.DB().WithContext(ctx).Connection(func(tx *gorm.DB) error {
		_, ok := tx.Statement.ConnPool.(*sql.Conn)
		assert.True(t, ok, "Connection: ConnPool is %T; want *sql.Conn", tx.Statement.ConnPool)
		return tx.Transaction(isTx(t, "Transaction inside Connection"))
	}))

	// With PrepareStmt, GORM's own wrapper around the *sql.Tx.
	require.NoError(t, m.DB().WithContext(ctx).Session(&gorm.Session{PrepareStmt: true}).Transaction(func(tx *gorm.DB) error {
		ps, ok := tx.Statement.ConnPool.(*gorm.PreparedStmtTX)
		require.True(t, ok, "ConnPool is %T; want *gorm.PreparedStmtTX", tx.Statement.ConnPool)
		_, ok = ps.Tx.(*sql.Tx)
		assert.True(t, ok, "PreparedStmtTX.Tx is %T; want *sql.Tx", ps.Tx)
		return tx.Create(&conntypeItem{Name: "prepared-tx"}).Error
	}))
	assert.EqualValues(t, 1, countConntype(t, m, "prepared-tx"))

	// A ReadOnly transaction still refuses a write before it is sent.
	err := m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
		return tx.Create(&conntypeItem{Name: "refused"}).Error
	})
	require.ErrorIs(t, err, datalayer.ErrReadOnly)
}

// savepointOrTransaction is the pattern of a well-known GORM adapter: inside
// a transaction (told by Statement.ConnPool.(*sql.Tx)) it takes a savepoint;
// outside one it begins a transaction under its own lock, and calls itself
// inside it. Handed anything but a *sql.Tx inside the transaction, it takes
// the lock it already holds: a deadlock.
type savepointOrTransaction struct {
	mu sync.Mutex
}

func (s *savepointOrTransaction) add(db *gorm.DB, names ...string) error {
	if _, ok := db.Statement.ConnPool.(*sql.Tx); ok {
		const sp = "conntype_sp"
		if err := db.SavePoint(sp).Error; err != nil {
			return err
		}
		for _, name := range names {
			if err := db.Create(&conntypeItem{Name: name}).Error; err != nil {
				db.RollbackTo(sp)
				return err
			}
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return db.Transaction(func(tx *gorm.DB) error { return s.add(tx, names...) })
}

func TestSavepointOrTransactionPatternDoesNotDeadlock(t *testing.T) {
	ctx := testCtx(t)
	m := conntypeManager(t, shared, nil)
	var s savepointOrTransaction
	for _, db := range []*gorm.DB{m.DB(), m.Conn(ctx, datalayer.Transactional)} {
		name := fmt.Sprint("sp-or-tx-", time.Now().UnixNano())
		require.NoError(t, stmt(t, ctx, "savepoint-or-transaction add", func(ctx context.Context) error {
			return s.add(db.WithContext(ctx), name, name)
		}))
		assert.EqualValues(t, 2, countConntype(t, m, name), "both rows committed")
	}
}

// Commit and rollback keep their atomicity with the *sql.Tx handed to GORM.
func TestTransactionAtomicityWithSqlTx(t *testing.T) {
	ctx := testCtx(t)
	m := conntypeManager(t, shared, nil)
	failed := errors.New("roll back")
	err := m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		require.NoError(t, tx.Create(&conntypeItem{Name: "atomic-rollback"}).Error)
		require.NoError(t, tx.Create(&conntypeItem{Name: "atomic-rollback"}).Error)
		return failed
	})
	require.ErrorIs(t, err, failed)
	assert.EqualValues(t, 0, countConntype(t, m, "atomic-rollback"))

	tx := m.Conn(ctx, datalayer.Batch).Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, tx.Create(&conntypeItem{Name: "atomic-commit"}).Error)
	require.NoError(t, tx.Create(&conntypeItem{Name: "atomic-commit"}).Error)
	assert.EqualValues(t, 0, countConntype(t, m, "atomic-commit"), "nothing shows before COMMIT")
	require.NoError(t, tx.Commit().Error)
	assert.EqualValues(t, 2, countConntype(t, m, "atomic-commit"))
	require.Error(t, tx.Commit().Error, "a second COMMIT is refused as with plain GORM")
}

// A write on a pinned connection in ReadOnly mode that only the server can
// refuse (raw SQL read through Scan) is ErrReadOnly, as outside Connection
// and inside a ReadOnly transaction, not a bare SQLSTATE 25006.
func TestReadOnlyWriteOnPinnedConnectionIsErrReadOnly(t *testing.T) {
	ctx := testCtx(t)
	m := conntypeManager(t, shared, nil)
	insert := "INSERT INTO conntype_items (name) VALUES ('pinned-ro') RETURNING id"
	var id int
	err := m.Conn(ctx, datalayer.ReadOnly).Connection(func(tx *gorm.DB) error {
		return tx.Raw(insert).Scan(&id).Error
	})
	require.ErrorIs(t, err, datalayer.ErrReadOnly)
	var ne *datalayer.NodeError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, datalayer.ReadOnly, ne.Mode)

	// The same outside Connection, and in a ReadOnly transaction.
	require.ErrorIs(t, m.Conn(ctx, datalayer.ReadOnly).Raw(insert).Scan(&id).Error, datalayer.ErrReadOnly)
	require.ErrorIs(t, m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
		return tx.Raw(insert).Scan(&id).Error
	}), datalayer.ErrReadOnly)
	assert.EqualValues(t, 0, countConntype(t, m, "pinned-ro"))
}

// Statements on a pinned connection and in a transaction reach the
// statement hooks (echo, metrics, tracing), with the node that ran them.
func TestPinnedAndTransactionStatementsReachTheHooks(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	seen := map[string]string{}
	hook := datalayer.StatementFunc(func(_ context.Context, s datalayer.Statement) {
		mu.Lock()
		seen[s.Query] = s.Node
		mu.Unlock()
	})
	m := conntypeManager(t, shared, nil, datalayer.WithStatementHook(hook))
	require.NoError(t, m.DB().WithContext(ctx).Connection(func(tx *gorm.DB) error {
		var v int
		return tx.Raw("SELECT 11 AS pinned").Scan(&v).Error
	}))
	require.NoError(t, m.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var v int
		return tx.Raw("SELECT 12 AS in_tx").Scan(&v).Error
	}))
	mu.Lock()
	defer mu.Unlock()
	primary := shared.Nodes()[0].Addr()
	assert.Equal(t, primary, seen["SELECT 11 AS pinned"], "the pinned statement was seen on the primary")
	assert.Equal(t, primary, seen["SELECT 12 AS in_tx"], "the transaction's statement was seen on the primary")
}

// A PrepareStmt session looks to GORM as without the plugin: GORM's
// PreparedStmtDB, its statement cache filled with what ran.
func TestPrepareStmtSessionFillsGormsCache(t *testing.T) {
	ctx := testCtx(t)
	m := conntypeManager(t, shared, nil)
	db := m.DB().WithContext(ctx).Session(&gorm.Session{PrepareStmt: true})
	it := conntypeItem{Name: "prepared-cache"}
	require.NoError(t, db.Create(&it).Error)
	var got conntypeItem
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Session(&gorm.Session{PrepareStmt: true}).First(&got, it.ID).Error)
	ps, ok := db.ConnPool.(*gorm.PreparedStmtDB)
	require.True(t, ok, "ConnPool is %T", db.ConnPool)
	assert.Len(t, ps.Stmts.Keys(), 2, "the INSERT and the SELECT: %q", ps.Stmts.Keys())

	// GORM's cache is shared by every PrepareStmt session of the handle; a
	// transaction on another pool (another *sql.DB) runs the same query.
	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.Transactional, datalayer.Batch} {
		require.NoError(t, m.Conn(ctx, mode).Session(&gorm.Session{PrepareStmt: true}).Transaction(func(tx *gorm.DB) error {
			return tx.Create(&conntypeItem{Name: "prepared-cache"}).Error
		}), "a transaction in %s mode", mode)
	}
	assert.EqualValues(t, 4, countConntype(t, m, "prepared-cache"))

	// gorm.Config{PrepareStmt: true} keeps GORM's wrapper on the root handle.
	pm := conntypeManager(t, shared, nil, datalayer.WithGormConfig(&gorm.Config{PrepareStmt: true}))
	_, ok = pm.DB().ConnPool.(*gorm.PreparedStmtDB)
	assert.True(t, ok, "ConnPool is %T; want *gorm.PreparedStmtDB", pm.DB().ConnPool)
	require.NoError(t, pm.DB().WithContext(ctx).Create(&conntypeItem{Name: "prepared-config"}).Error)
}

// Writes on a pinned connection are recorded for read-your-writes: the next
// Auto read with the same context does not go to a replica that has not
// replayed them (its replay is paused).
func TestReadYourWritesOnPinnedConnection(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	m := conntypeManager(t, c, func(cfg *datalayer.Config) {
		cfg.MaxReplicationLag = 0 // the paused replica stays in rotation
		cfg.ReadYourWritesTimeout = 50 * time.Millisecond
	})
	waitReplicated(t, c, c.Node("primary"))
	replica := c.Node("replica1")
	require.NoError(t, nodeOp(t, ctx, "pause replay", replica.PauseReplay))
	t.Cleanup(func() { _ = replica.ResumeReplay(context.Background()) })

	cases := []struct {
		name  string
		write func(tx *gorm.DB, it *conntypeItem) error
	}{
		{"create", func(tx *gorm.DB, it *conntypeItem) error { return tx.Create(it).Error }},
		{"transaction", func(tx *gorm.DB, it *conntypeItem) error {
			return tx.Transaction(func(tx *gorm.DB) error { return tx.Create(it).Error })
		}},
		{"exec", func(tx *gorm.DB, it *conntypeItem) error {
			return tx.Raw("INSERT INTO conntype_items (name) VALUES (?) RETURNING id", it.Name).Scan(&it.ID).Error
		}},
	}
	for _, tc := range cases {
		rctx := datalayer.WithReadYourWrites(ctx)
		it := conntypeItem{Name: "pinned-ryw-" + tc.name}
		require.NoError(t, m.DB().WithContext(rctx).Connection(func(tx *gorm.DB) error { return tc.write(tx, &it) }), tc.name)
		require.NotZero(t, it.ID, tc.name)
		var got conntypeItem
		err := m.DB().WithContext(rctx).First(&got, it.ID).Error
		require.NoError(t, err, "%s: the read after a pinned write sees it", tc.name)
		assert.Equal(t, it.Name, got.Name)
	}
}
