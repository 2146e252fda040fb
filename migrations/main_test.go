package migrations_test

import (
	"database/sql"
	"os"
	"testing"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/pgtest"
)

// cluster is one throwaway PostgreSQL server for the whole package; each test gets its own
// database from freshDSN.
var cluster *pgcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m, "migrations", pgcluster.Options{}, nil, &cluster))
}

func freshDSN(t *testing.T) string             { return pgtest.FreshDSN(t, cluster) }
func openSQL(t *testing.T, dsn string) *sql.DB { return pgtest.OpenSQL(t, dsn) }
