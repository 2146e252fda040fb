package promptimprover_test

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/pgtest"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// cluster is one throwaway PostgreSQL server for the whole package; each test gets its own
// database from freshDSN.
var cluster *pgcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m, "promptimprover", pgcluster.Options{}, nil, &cluster))
}

func freshDSN(t *testing.T) string               { return pgtest.FreshDSN(t, cluster) }
func openGorm(t *testing.T, dsn string) *gorm.DB { return pgtest.OpenGorm(t, dsn) }
func openSQL(t *testing.T, dsn string) *sql.DB   { return pgtest.OpenSQL(t, dsn) }

// freshConfig is a Manager configuration of a fresh database.
func freshConfig(t *testing.T) datalayer.Config {
	dsn := freshDSN(t)
	cfg := testenv.Config(cluster)
	cfg.Database = dsn[strings.LastIndex(dsn, "dbname=")+len("dbname="):]
	return cfg
}
