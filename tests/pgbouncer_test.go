//go:build linux

package tests

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgbouncertest"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/promptimprover"
)

// startBouncers puts one PgBouncer in transaction pooling mode in front of
// each node of c, in c's node order. It skips the test when PgBouncer is not
// installed and cannot be (scripts/ensure-proxies.sh installs it as root).
func startBouncers(t *testing.T, c *pgcluster.Cluster, nodes ...*pgcluster.Node) []*pgbouncertest.Bouncer {
	t.Helper()
	if _, err := pgbouncertest.Binary(); err != nil {
		t.Skipf("%v; these tests need PgBouncer", err)
	}
	var bs []*pgbouncertest.Bouncer
	for _, n := range nodes {
		var b *pgbouncertest.Bouncer
		require.NoError(t, nodeOp(t, testCtx(t), "start pgbouncer", func(ctx context.Context) (err error) {
			b, err = pgbouncertest.Start(ctx, pgbouncertest.Options{
				Backend: n.Port(), Database: c.Database(), User: c.User(), Password: c.Password(),
			})
			return err
		}))
		t.Cleanup(b.Close)
		bs = append(bs, b)
	}
	return bs
}

// behindBouncers is a Manager configuration whose host and replica_hosts are
// the bouncers, with pgbouncer on.
func behindBouncers(c *pgcluster.Cluster, bs []*pgbouncertest.Bouncer) datalayer.Config {
	cfg := testenv.Config(c)
	cfg.Host, cfg.Port = "127.0.0.1", bs[0].Port()
	cfg.ReplicaHosts = nil
	for _, b := range bs[1:] {
		cfg.ReplicaHosts = append(cfg.ReplicaHosts, b.Addr())
	}
	cfg.PgBouncer = true
	return cfg
}

// noRefusedParameters fails when a PgBouncer log shows a startup parameter
// it refused (PgBouncer answers 08P01 "unsupported startup parameter").
func noRefusedParameters(t *testing.T, bs []*pgbouncertest.Bouncer) {
	t.Helper()
	for _, b := range bs {
		for _, line := range strings.Split(b.Log(), "\n") {
			if strings.Contains(line, "unsupported startup parameter") {
				t.Errorf("pgbouncer %s refused a startup parameter: %s", b.Addr(), line)
			}
		}
	}
}

type pgbThing struct {
	ID   int64
	Code string
}

// Every mode reads and writes through PgBouncer; no node is taken for dead;
// Migrate (AutoMigrate through PgBouncer, the SQL migrations on
// migration_host) works.
func TestPgBouncerEveryMode(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	primary, replica := c.Node("primary"), c.Node("replica1")
	bs := startBouncers(t, c, primary, replica)
	cfg := behindBouncers(c, bs)
	cfg.MigrationHost = primary.Addr()
	cfg.StatementCacheSize = 512 // ignored behind PgBouncer: nothing is prepared
	m, err := promptimprover.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })

	res, err := m.Migrate(ctx)
	require.NoError(t, err, "Migrate")
	assert.NotEmpty(t, res, "SQL migrations applied")
	for _, table := range []string{"users", "prompts", "goose_db_version"} {
		assert.True(t, tableExists(t, primary, table), table)
	}
	require.NoError(t, m.Conn(ctx, datalayer.Transactional).AutoMigrate(&pgbThing{}))

	for i, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		db := m.Conn(ctx, mode)
		th := pgbThing{Code: mode.String()}
		require.NoError(t, db.Create(&th).Error, "create in %s", mode)
		require.NotZero(t, th.ID)
		require.NoError(t, db.Model(&pgbThing{}).Where("id = ?", th.ID).Update("code", "u"+mode.String()).Error, "update in %s", mode)
		require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
			return tx.Create(&pgbThing{Code: "tx"}).Error
		}), "transaction in %s", mode)
		var got pgbThing
		require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).First(&got, th.ID).Error)
		assert.Equal(t, "u"+mode.String(), got.Code, "mode %d", i)
	}
	// Batch's bulk path and PrepareStmt sessions run unprepared.
	bulk := make([]pgbThing, 50)
	require.NoError(t, m.Conn(ctx, datalayer.Batch).CreateInBatches(bulk, 20).Error)
	prep := m.Conn(ctx, datalayer.ReadWrite).Session(&gorm.Session{PrepareStmt: true})
	for range 3 {
		require.NoError(t, prep.Create(&pgbThing{Code: "prep"}).Error, "PrepareStmt session")
	}

	waitReplicated(t, c, primary)
	var n int64
	require.NoError(t, m.Conn(ctx, datalayer.Auto).Model(&pgbThing{}).Count(&n).Error, "Auto read")
	assert.EqualValues(t, 4+4+50+3, n)
	require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Model(&pgbThing{}).Count(&n).Error, "ReadOnly read")
	var rows []pgbThing
	require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Where("code = ?", "prep").Find(&rows).Error, "ReadOnly find")
	assert.Len(t, rows, 3)
	require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
		return tx.Model(&pgbThing{}).Count(&n).Error
	}), "ReadOnly transaction")
	err = m.Conn(ctx, datalayer.ReadOnly).Create(&pgbThing{Code: "no"}).Error
	assert.ErrorIs(t, err, datalayer.ErrReadOnly, "ReadOnly refuses a write")

	st := m.Plugin().Status()
	assert.Equal(t, bs[0].Addr(), st.Primary, "the primary's bouncer is the primary")
	for _, ns := range st.Nodes {
		assert.True(t, ns.Healthy && ns.InRotation, "node %s taken for dead or out of rotation: %+v", ns.Name, ns)
	}
	noRefusedParameters(t, bs)
}

// ReadOnly still refuses writes when it runs on the primary (no replica):
// per statement, a read-only transaction does what the read-only session
// parameter does without PgBouncer, for Exec, for a query (INSERT ...
// RETURNING) and for QueryRow; reads still work, and a connection that ran
// a refused write is clean for the next statement.
func TestPgBouncerReadOnlyOnThePrimary(t *testing.T) {
	ctx := testCtx(t)
	primary := shared.Node("primary")
	bs := startBouncers(t, shared, primary)
	cfg := behindBouncers(shared, bs)
	cfg.PoolSize, cfg.MaxOverflow = 1, 0 // one connection: the one reused
	m, err := datalayer.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	rw := m.Conn(ctx, datalayer.ReadWrite)
	require.NoError(t, rw.Exec("CREATE TABLE IF NOT EXISTS pgb_ro (id serial PRIMARY KEY, v int)").Error)
	t.Cleanup(func() { m.Conn(context.Background(), datalayer.ReadWrite).Exec("DROP TABLE IF EXISTS pgb_ro") })

	ro := m.Conn(ctx, datalayer.ReadOnly)
	for name, write := range map[string]func() error{
		"Exec": func() error { return ro.Exec("INSERT INTO pgb_ro (v) VALUES (1)").Error },
		"Query": func() error {
			rows, err := ro.Raw("INSERT INTO pgb_ro (v) VALUES (2) RETURNING id").Rows()
			if err == nil {
				rows.Close()
			}
			return err
		},
		"Create": func() error { return ro.Table("pgb_ro").Create(map[string]any{"v": 3}).Error },
		"DDL":    func() error { return ro.Exec("CREATE TABLE pgb_ro_never (id int)").Error },
	} {
		err := write()
		assert.ErrorIs(t, err, datalayer.ErrReadOnly, "%s in ReadOnly on the primary", name)
		var v int
		require.NoError(t, ro.Raw("SELECT count(*) FROM pgb_ro").Scan(&v).Error, "a read after the refused %s", name)
		assert.Zero(t, v, "%s wrote nothing", name)
	}
	var txStatus string
	require.NoError(t, ro.Raw("SELECT current_setting('transaction_read_only')").Scan(&txStatus).Error)
	assert.Equal(t, "on", txStatus, "a ReadOnly statement runs in a read-only transaction")
	require.NoError(t, rw.Raw("SELECT current_setting('transaction_read_only')").Scan(&txStatus).Error)
	assert.Equal(t, "off", txStatus, "ReadWrite does not")
	noRefusedParameters(t, bs)
}

// Behind PgBouncer the SQL migrations need migration_host: goose's session
// lock would stay on a server connection PgBouncer lends to others.
func TestPgBouncerMigrateNeedsMigrationHost(t *testing.T) {
	ctx := testCtx(t)
	cfg := testenv.Config(shared)
	cfg.PgBouncer = true
	m, err := promptimprover.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	_, err = m.Migrations()
	var ce *datalayer.ConfigError
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.True(t, ce.Has("migration_host"), "%v", err)

	cfg.StatementTimeout = 1e9
	_, err = datalayer.New(ctx, cfg)
	require.True(t, errors.As(err, &ce), "got %v", err)
	assert.True(t, ce.Has("statement_timeout"), "statement_timeout cannot be sent through PgBouncer: %v", err)
}
