package datalayer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validTestConfig() Config {
	c := DefaultConfig()
	c.Host = "db.internal"
	c.Database = "app"
	c.Password = testSecret
	return c
}

func TestValidate(t *testing.T) {
	require.NoError(t, validTestConfig().Validate())

	for _, host := range []string{"db.internal", "10.0.0.1", "::1", "[::1]", "/var/run/postgresql", "my_host"} {
		c := validTestConfig()
		c.Host = host
		assert.NoError(t, c.Validate(), host)
	}

	var zero Config
	err := zero.Validate()
	ce := requireConfigError(t, err)
	for _, f := range []string{"host", "port", "database", "pool_size", "batch_pool_size", "transactional_pool_size",
		"batch_size", "pool_timeout", "failover_timeout", "health_check_interval", "connection_timeout",
		"sslmode", "replica_policy"} {
		assert.True(t, ce.Has(f), f)
	}
	for _, f := range []string{"max_overflow", "pool_recycle", "statement_timeout", "statement_cache_size", "transaction_retries"} {
		assert.False(t, ce.Has(f), "zero is valid for %s", f)
	}
}

// pgbouncer: statement_timeout cannot be sent (PgBouncer refuses it at
// connection start); migration_host is parsed like a replica_hosts entry.
func TestValidatePgBouncer(t *testing.T) {
	c := validTestConfig()
	c.PgBouncer = true
	c.MigrationHost = "db-direct:5433"
	require.NoError(t, c.Validate(), "batch_statement_timeout's default is ignored, not refused")
	c.StatementTimeout = time.Second
	c.MigrationHost = "db direct"
	ce := requireConfigError(t, c.Validate())
	assert.True(t, ce.Has("statement_timeout"))
	assert.True(t, ce.Has("migration_host"))
	c.PgBouncer = false
	c.MigrationHost = ""
	assert.NoError(t, c.Validate(), "statement_timeout is fine without PgBouncer")
}

func TestParseHostPort(t *testing.T) {
	ok := map[string]HostPort{
		"r1":              {"r1", 5432},
		"r1:5433":         {"r1", 5433},
		"10.0.0.2:6000":   {"10.0.0.2", 6000},
		"[::1]":           {"::1", 5432},
		"[::1]:5433":      {"::1", 5433},
		"[fe80::1%eth0]":  {"fe80::1%eth0", 5432},
		"db-2.example.io": {"db-2.example.io", 5432},
	}
	for in, want := range ok {
		got, problem := parseHostPort(in, 5432)
		assert.Empty(t, problem, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", " ", "r1 ", "a b", "r1:", ":5432", "r1:0", "r1:65536", "r1:+5", "r1:x",
		"a:b:c", "::1", "[::1", "[::1]x", "[::1]:", "[10.0.0.1]:5", "[db]", "-r1", "r1/x", "postgres://r1", "r1\n"} {
		_, problem := parseHostPort(in, 5432)
		assert.NotEmpty(t, problem, "%q should be malformed", in)
	}
}

func TestReplicaAddrsAndNodes(t *testing.T) {
	c := validTestConfig()
	c.Port = 6432
	c.ReplicaHosts = []string{"r1", "r2:5433", "[::1]"}
	addrs, err := c.ReplicaAddrs()
	require.NoError(t, err)
	assert.Equal(t, []HostPort{{"r1", 6432}, {"r2", 5433}, {"::1", 6432}}, addrs)
	assert.Equal(t, []HostPort{{"db.internal", 6432}, {"r1", 6432}, {"r2", 5433}, {"::1", 6432}}, c.Nodes())
	assert.Equal(t, "[::1]:6432", addrs[2].String())
	assert.Equal(t, "r2:5433", addrs[1].String())

	c.ReplicaHosts = []string{"r1", "bad:", "r1:6432", "DB.internal"}
	_, err = c.ReplicaAddrs()
	ce := requireConfigError(t, err)
	assert.Equal(t, []string{"replica_hosts[1]"}, configFieldNames(ce))
	assert.Equal(t, []HostPort{{"db.internal", 6432}, {"r1", 6432}}, c.Nodes(), "malformed and duplicate entries are left out")

	ce = requireConfigError(t, c.Validate())
	assert.Equal(t, []string{"replica_hosts[1]", "replica_hosts[2]", "replica_hosts[3]"}, configFieldNames(ce))
}

func configFieldNames(ce *ConfigError) []string {
	var names []string
	for _, f := range ce.Fields {
		names = append(names, f.Field)
	}
	return names
}
