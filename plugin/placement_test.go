package plugin

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/plugin/dbresolver"
)

func TestNamedCluster(t *testing.T) {
	stmt := &gorm.Statement{Clauses: map[string]clause.Clause{}}
	_, ok := namedCluster(stmt)
	assert.False(t, ok)
	// as dbresolver.Use's ModifyStatement keeps it
	stmt.Clauses[dbresolverUsing] = clause.Clause{Expression: dbresolver.Use("events")}
	name, ok := namedCluster(stmt)
	assert.True(t, ok)
	assert.Equal(t, "events", name, "dbresolver.Use names the cluster")
	stmt.Clauses[clusterClause] = clause.Clause{Expression: OnCluster("audit")}
	name, _ = namedCluster(stmt)
	assert.Equal(t, "audit", name, "OnCluster first")
}

func TestClustersOptionsValidate(t *testing.T) {
	base := discoveryFree()
	o := base
	o.Clusters = map[string]Options{"default": base, "Bad-Name": base, "events": {}}
	o.Tables = map[string]string{"orders": "nope"}
	err := o.validate()
	for _, want := range []string{`cluster name "default"`, `cluster name "Bad-Name"`, "cluster events: ", `table orders: unifieddb: unknown cluster "nope"`} {
		assert.ErrorContains(t, err, want)
	}
	o.Clusters = map[string]Options{"events": base}
	o.Tables = map[string]string{"orders": "events", "users": DefaultCluster}
	assert.NoError(t, o.validate())
	assert.True(t, errors.Is((&CrossClusterError{}), ErrCrossCluster))
}

// discoveryFree is a valid Options with one static node.
func discoveryFree() Options {
	return Options{
		Nodes:      []Addr{{Host: "127.0.0.1", Port: 1}},
		ConnConfig: func(Addr) (*pgx.ConnConfig, error) { return nil, nil },
		Pool:       PoolConfig{MaxOpen: 1}, Batch: PoolConfig{MaxOpen: 1}, Transactional: PoolConfig{MaxOpen: 1},
		PoolTimeout: time.Second, FailoverTimeout: time.Second, HealthCheckInterval: time.Second, ProbeTimeout: time.Second,
	}
}

func TestOwnTable(t *testing.T) {
	for q, want := range map[string]string{
		"INSERT INTO mc_events (kind) VALUES ('raw')":    "mc_events",
		"  insert into ev.mc_events VALUES (1)":          "mc_events",
		"UPDATE mc_audits SET what = 'x'":                "mc_audits",
		"UPDATE MC_Audits SET what = 'x'":                "mc_audits",
		"DELETE FROM mc_lines WHERE id = 1":              "mc_lines",
		"SELECT count(*) FROM mc_users u JOIN x ON true": "mc_users",
	} {
		n, ok := ownTable(q)
		if !ok || n.table != want {
			t.Errorf("ownTable(%q) = %+v, %v; want %s", q, n, ok, want)
		}
	}
	for _, q := range []string{"SELECT 1", "SAVEPOINT sp1", ""} {
		if n, ok := ownTable(q); ok {
			t.Errorf("ownTable(%q) = %+v, want none", q, n)
		}
	}
}
