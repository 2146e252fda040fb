package repos_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/pgtest"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/models"
)

// The package's one cluster (a primary and two replicas), started by the
// first test or benchmark that needs it, so that `go test -run X` of a test
// without a database starts nothing.
var (
	clusterOnce sync.Once
	cluster     *pgcluster.Cluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "repos tests: stopping the cluster:", err)
		}
	}
	os.Exit(code)
}

// testCluster starts the cluster once. Auto reads go to replicas, so that a
// read right after a write sees it, commits on the cluster's database wait
// until both replicas have applied them (synchronous_commit = remote_apply).
// The database asyncDB keeps ordinary asynchronous commits: the
// read-your-writes test and the benchmark use it.
func testCluster(tb testing.TB) *pgcluster.Cluster {
	tb.Helper()
	c, err := startCluster()
	require.NoError(tb, err, "starting the local cluster")
	return c
}

func startCluster() (*pgcluster.Cluster, error) {
	clusterOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := pgcluster.Start(ctx, pgcluster.DefaultOptions())
		if err != nil {
			clusterErr = err
			return
		}
		cluster = c
		clusterErr = syncApply(ctx, c)
	})
	return cluster, clusterErr
}

const asyncDB = "unifieddb_async"

func syncApply(ctx context.Context, c *pgcluster.Cluster) error {
	if err := pgtest.SyncApply(ctx, c); err != nil {
		return err
	}
	primary := c.Nodes()[0]
	if err := primary.Exec(ctx, "CREATE DATABASE "+asyncDB); err != nil {
		return err
	}
	return primary.Exec(ctx, "ALTER DATABASE "+asyncDB+" SET synchronous_commit = 'local'")
}

func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// newManager opens a Manager on the cluster's database (adjusted by mutate),
// with every model of the package migrated; it is closed at cleanup.
func newManager(tb testing.TB, mutate func(*datalayer.Config)) *datalayer.Manager {
	tb.Helper()
	ctx := testCtx(tb)
	cfg := testenv.Config(testCluster(tb))
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := datalayer.New(ctx, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = m.Close() })
	migrate(tb, m.Conn(ctx, datalayer.ReadWrite))
	return m
}

var migrated sync.Map // database name -> struct{}

func migrate(tb testing.TB, db *gorm.DB) {
	tb.Helper()
	var name string
	require.NoError(tb, db.Raw("SELECT current_database()").Scan(&name).Error)
	if _, done := migrated.Load(name); done {
		return
	}
	all := append(models.All(), &hookedItem{}, &pageItem{}, &strictItem{}, &benchRow{})
	require.NoError(tb, db.AutoMigrate(all...))
	migrated.Store(name, struct{}{})
}

// unique returns a prefix no other test uses, for rows a test counts.
func unique(t *testing.T) string {
	return strings.NewReplacer("/", ".", " ", "-", "_", "-").Replace(t.Name()) + "." + fmt.Sprint(time.Now().UnixNano()) + "."
}
