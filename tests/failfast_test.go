package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// Faults that waiting cannot cure fail the first call at once, with the
// cause; a port where nothing listens is waited for, then named.

type ffItem struct {
	ID   int64
	Name string
}

// openFailing opens a Manager on the shared cluster's configuration,
// adjusted by mutate, with failover_timeout 30 s: a call that waits for it
// is far slower than one that fails at once.
func openFailing(t *testing.T, mutate func(*datalayer.Config), opts ...datalayer.Option) *datalayer.Manager {
	t.Helper()
	cfg := testenv.Config(shared)
	cfg.FailoverTimeout = 30 * time.Second
	mutate(&cfg)
	var m *datalayer.Manager
	start := time.Now()
	require.NoError(t, stmt(t, testCtx(t), "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, opts...)
		return err
	}), "New stays lazy: a cluster it cannot use does not stop it")
	t.Logf("datalayer.New took %s", time.Since(start))
	t.Cleanup(func() { m.Close() })
	return m
}

// failsAtOnce runs a Create and a Find and checks that each fails far below
// failover_timeout, with the sentinel, the cause and every node named.
func failsAtOnce(t *testing.T, m *datalayer.Manager, check func(t *testing.T, err error)) {
	t.Helper()
	ctx := testCtx(t)
	calls := []struct {
		name     string
		sentinel error
		call     func(ctx context.Context) error
	}{
		{"Create", datalayer.ErrNoPrimary, func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Create(&ffItem{Name: "x"}).Error
		}},
		{"Find", datalayer.ErrNoHealthyNode, func(ctx context.Context) error {
			var items []ffItem
			return m.DB().WithContext(ctx).Find(&items).Error
		}},
	}
	for _, c := range calls {
		start := time.Now()
		err := stmt(t, ctx, c.name, c.call)
		took := time.Since(start)
		t.Logf("%s failed after %s: %v", c.name, took, err)
		assert.Less(t, took, 5*time.Second, "%s: at once (under 2 s expected), not after failover_timeout (30 s)", c.name)
		require.ErrorIs(t, err, c.sentinel, c.name)
		var u *datalayer.UnavailableError
		require.ErrorAs(t, err, &u, c.name)
		assert.True(t, u.Permanent, c.name)
		assert.Len(t, u.Nodes, len(m.Config().Nodes()))
		for _, n := range m.Config().Nodes() {
			assert.Contains(t, err.Error(), "node "+net.JoinHostPort(n.Host, fmt.Sprint(n.Port))+": ", c.name)
		}
		assert.NotContains(t, err.Error(), m.Config().Password)
		check(t, err)
	}
	start := time.Now()
	err := m.WaitReady(ctx)
	t.Logf("WaitReady failed after %s: %v", time.Since(start), err)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.ErrorIs(t, err, datalayer.ErrNoPrimary)
	check(t, err)
}

func sqlState(code string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		assert.Equal(t, code, pgErr.Code)
	}
}

func TestFailFastWrongPassword(t *testing.T) {
	m := openFailing(t, func(cfg *datalayer.Config) { cfg.Password = "not-" + cfg.Password })
	failsAtOnce(t, m, sqlState("28P01"))
}

func TestFailFastUnknownDatabase(t *testing.T) {
	m := openFailing(t, func(cfg *datalayer.Config) { cfg.Database = "unifieddb_no_such_db" })
	failsAtOnce(t, m, sqlState("3D000"))
}

// sslmode=require against a server with ssl = off.
func TestFailFastTLSRefused(t *testing.T) {
	m := openFailing(t, func(cfg *datalayer.Config) { cfg.SSLMode = "require" })
	failsAtOnce(t, m, func(t *testing.T, err error) {
		assert.Contains(t, err.Error(), "server refused TLS connection")
	})
}

// A host name that does not resolve (the resolver is the test's: no lookup
// leaves the machine).
func TestFailFastUnknownHost(t *testing.T) {
	notFound := func(ctx context.Context, host string) ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	m := openFailing(t, func(*datalayer.Config) {}, datalayer.WithConnConfig(func(cc *pgx.ConnConfig) { cc.LookupFunc = notFound }))
	failsAtOnce(t, m, func(t *testing.T, err error) {
		var dnsErr *net.DNSError
		require.ErrorAs(t, err, &dnsErr)
		assert.True(t, dnsErr.IsNotFound)
	})
}

// A port where nothing listens is waited for as a crashed primary is (the
// server may be starting), then named with its cause.
func TestRefusedConnectionWaitsThenNamesTheNode(t *testing.T) {
	dead := deadAddr(t)
	m := openFailing(t, func(cfg *datalayer.Config) {
		cfg.Host, cfg.Port, cfg.ReplicaHosts = "127.0.0.1", portOf(t, dead), nil
		cfg.FailoverTimeout = 2 * time.Second
	})
	ctx := testCtx(t)
	start := time.Now()
	err := stmt(t, ctx, "Create", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&ffItem{Name: "x"}).Error
	})
	took := time.Since(start)
	t.Logf("Create failed after %s: %v", took, err)
	assert.GreaterOrEqual(t, took, 1900*time.Millisecond, "waits failover_timeout")
	assert.Less(t, took, 10*time.Second)
	require.ErrorIs(t, err, datalayer.ErrNoPrimary)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), "within 2s: node "+dead+": ")
	assert.Contains(t, err.Error(), "connection refused")

	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = m.WaitReady(wctx)
	t.Logf("WaitReady: %v", err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, datalayer.ErrNoPrimary)
	assert.Contains(t, err.Error(), "node "+dead+": ")
	assert.Contains(t, err.Error(), "connection refused")
}

// A node that was healthy and then refuses the password (it changed) is a
// node fault: the call waits failover_timeout, as for a crash, then names
// the cause.
func TestPasswordRefusedAfterHealthyIsANodeFault(t *testing.T) {
	ctx := testCtx(t)
	primary := shared.Nodes()[0]
	role := fmt.Sprintf("ff_user_%d", rand.N(1_000_000))
	require.NoError(t, stmt(t, ctx, "create role", func(ctx context.Context) error {
		return primary.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'first-pw-1'", role))
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = primary.Exec(ctx, fmt.Sprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '%s'", role))
		_ = primary.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	})
	m := openFailing(t, func(cfg *datalayer.Config) {
		cfg.Username, cfg.Password = role, "first-pw-1"
		cfg.ReplicaHosts = nil
		cfg.FailoverTimeout = 2 * time.Second
	})
	require.NoError(t, m.WaitReady(ctx))
	var one int
	require.NoError(t, stmt(t, ctx, "SELECT 1", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Raw("SELECT 1").Scan(&one).Error
	}))

	require.NoError(t, stmt(t, ctx, "change the password, end the sessions", func(ctx context.Context) error {
		return primary.Exec(ctx, fmt.Sprintf(`ALTER ROLE %[1]s PASSWORD 'second-pw-2';
			SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '%[1]s'`, role))
	}))
	start := time.Now()
	err := stmt(t, ctx, "Create", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&ffItem{Name: "x"}).Error
	})
	took := time.Since(start)
	t.Logf("Create failed after %s: %v", took, err)
	assert.GreaterOrEqual(t, took, 1500*time.Millisecond, "a node fault: waited for failover_timeout")
	require.ErrorIs(t, err, datalayer.ErrNoPrimary)
	var u *datalayer.UnavailableError
	require.ErrorAs(t, err, &u)
	assert.False(t, u.Permanent)
	sqlState("28P01")(t, err)
	assert.False(t, strings.Contains(err.Error(), "pw-"), "no password in %q", err)
}
