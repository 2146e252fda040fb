// Package pgtest holds what test packages share to run against a local
// pgcluster: a TestMain that owns one cluster, a fresh database per test,
// and synchronous replication for tests that read right after writing.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// Run starts one cluster for a test package, runs setup on it (may be nil),
// stores it in *dst, runs the tests and closes the cluster. Use it as
// os.Exit(pgtest.Run(m, "models", opts, nil, &cluster)) in TestMain.
func Run(m *testing.M, pkg string, opts pgcluster.Options, setup func(context.Context, *pgcluster.Cluster) error, dst **pgcluster.Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, opts)
	if err == nil && setup != nil {
		if err = setup(ctx, c); err != nil {
			c.Close()
		}
	}
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s tests: starting the local cluster: %v\n", pkg, err)
		return 1
	}
	*dst = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "%s tests: stopping the local cluster: %v\n", pkg, err)
	}
	return code
}

var dbSeq atomic.Int64

// FreshDSN creates an empty database on the cluster's first node for the
// calling test, dropped when it ends, and returns its DSN.
func FreshDSN(t testing.TB, c *pgcluster.Cluster) string {
	t.Helper()
	name := fmt.Sprintf("t_%s_%d", strings.ToLower(strings.NewReplacer("/", "_", "#", "_").Replace(t.Name())), dbSeq.Add(1))
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	node := c.Nodes()[0]
	ctx := context.Background()
	require.NoError(t, node.Exec(ctx, `CREATE DATABASE "`+name+`"`))
	t.Cleanup(func() { _ = node.Exec(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`) })
	return node.DSN() + " dbname=" + name // a later dbname overrides the first
}

// OpenGorm opens plain GORM on dsn, closed at cleanup.
func OpenGorm(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// OpenSQL opens database/sql with pgx on dsn, closed at cleanup.
func OpenSQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// SyncApply makes every commit on c's primary wait until all replicas have
// applied it (synchronous_commit = remote_apply), so a replica read right
// after a write sees it.
func SyncApply(ctx context.Context, c *pgcluster.Cluster) error {
	primary := c.Nodes()[0]
	var names []string
	for _, n := range c.Nodes()[1:] {
		names = append(names, n.Name())
	}
	for _, q := range []string{
		fmt.Sprintf("ALTER SYSTEM SET synchronous_standby_names = 'FIRST %d (%s)'", len(names), strings.Join(names, ", ")),
		"ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
		"SELECT pg_reload_conf()",
	} {
		if err := primary.Exec(ctx, q); err != nil {
			return err
		}
	}
	for {
		n, err := primary.QueryInt(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")
		if err != nil {
			return err
		}
		if int(n) == len(names) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replicas never became synchronous: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
