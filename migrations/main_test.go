package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// cluster is one throwaway PostgreSQL server for the whole package; each test gets its own
// database from freshDSN.
var cluster *pgcluster.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, pgcluster.Options{Replicas: 0})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrations tests: starting PostgreSQL:", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "migrations tests: stopping PostgreSQL:", err)
	}
	os.Exit(code)
}

var dbSeq atomic.Int64

// freshDSN creates an empty database for the calling test, dropped when it ends, and returns
// its DSN (keyword/value: a later dbname overrides the cluster's).
func freshDSN(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t_%s_%d", strings.ToLower(strings.NewReplacer("/", "_", "#", "_").Replace(t.Name())), dbSeq.Add(1))
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	node := cluster.Nodes()[0]
	ctx := context.Background()
	require.NoError(t, node.Exec(ctx, `CREATE DATABASE "`+name+`"`))
	t.Cleanup(func() { _ = node.Exec(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`) })
	return node.DSN() + " dbname=" + name
}

func openGorm(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
