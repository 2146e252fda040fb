package tests

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/internal/watchdog"
)

// testCtx is a context for the rest of the test, under the test's watchdog:
// a test still running a second past it ends the test binary with every
// goroutine's stack.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	t.Cleanup(watchdog.ForTest(t).Watch(ctx, "the test"))
	return ctx
}

// newManager opens a Manager on c, adjusted by mutate, closed at cleanup.
func newManager(t *testing.T, c *pgcluster.Cluster, mutate func(*datalayer.Config)) *datalayer.Manager {
	t.Helper()
	cfg := testenv.Config(c)
	if mutate != nil {
		mutate(&cfg)
	}
	return openManager(t, cfg)
}

// servedBy runs a model read (no raw SQL) and returns the port of the
// server that answered it.
func servedByModelRead(t *testing.T, db *gorm.DB, model any) int {
	t.Helper()
	var port int
	require.NoError(t, stmt(t, db.Statement.Context, "model read of inet_server_port()", func(ctx context.Context) error {
		return db.WithContext(ctx).Model(model).Select("inet_server_port()").Limit(1).Scan(&port).Error
	}))
	return port
}

// servedByRaw runs raw SQL and returns the port of the server that answered.
func servedByRaw(t *testing.T, db *gorm.DB) int {
	t.Helper()
	var port int
	require.NoError(t, stmt(t, db.Statement.Context, "SELECT inet_server_port()", func(ctx context.Context) error {
		return db.WithContext(ctx).Raw("SELECT inet_server_port()").Scan(&port).Error
	}))
	return port
}

// waitReplicated waits until every running replica of c has replayed the
// primary's current WAL position.
func waitReplicated(t *testing.T, c *pgcluster.Cluster, primary *pgcluster.Node) {
	t.Helper()
	ctx := testCtx(t)
	var lsn int64
	require.NoError(t, stmt(t, ctx, "primary WAL position", func(ctx context.Context) (err error) {
		lsn, err = primary.QueryInt(ctx, "SELECT (pg_current_wal_lsn() - '0/0')::bigint")
		return err
	}))
	for _, n := range c.Nodes() {
		if n == primary || !n.Running() {
			continue
		}
		require.Eventually(t, func() bool {
			var caught int64
			err := stmt(t, ctx, "replica replay position", func(ctx context.Context) (err error) {
				caught, err = n.QueryInt(ctx, "SELECT ((pg_last_wal_replay_lsn() - '0/0')::bigint >= $1)::int", lsn)
				return err
			})
			return err == nil && caught == 1
		}, 30*time.Second, 20*time.Millisecond, "replica %s did not replay up to %d", n.Name(), lsn)
	}
}

// deadAddr returns a loopback address below the ephemeral range where
// nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	for port := 29000; port < 32000; port++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return l.Addr().String()
		}
	}
	t.Fatal("no free port")
	return ""
}

func newManagerConfig(t *testing.T) datalayer.Config {
	t.Helper()
	return testenv.Config(shared)
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	return port
}
