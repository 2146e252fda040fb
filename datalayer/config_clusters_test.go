package datalayer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withClusters is section(top...) followed by a clusters: block whose lines
// are indented under it as given ("events:", "  host: ev1").
func withClusters(top []string, clusterLines ...string) []byte {
	var b strings.Builder
	b.Write(section(top...))
	b.WriteString("  clusters:\n")
	for _, l := range clusterLines {
		b.WriteString("    " + l + "\n")
	}
	return []byte(b.String())
}

// A cluster inherits the top-level keys it leaves out, except its nodes,
// discovery and migrations, which are its own; env expansion and merge keys
// work inside its section.
func TestParseConfigClusters(t *testing.T) {
	t.Setenv("UNIFIEDDB_TEST_EVENTS_HOST", "ev1.internal")
	dir := t.TempDir()
	data := []byte(`
base: &base
  pool_timeout: 7
database:
  host: db.internal
  port: 6000
  database: app
  username: appuser
  password: "` + testSecret + `"
  pool_size: 20
  replica_hosts: [db2.internal]
  migrations_dir: ` + dir + `
  migration_host: db-direct.internal
  sslmode: require
  echo: true
  clusters:
    events:
      <<: *base
      host: ${UNIFIEDDB_TEST_EVENTS_HOST}
      replica_hosts: [ev2.internal, "ev3.internal:6001"]
      max_overflow: 3
      tables: [events, audit.event_log]
    dns:
      discovery: dns
      discovery_dns_name: pg.events.internal
    analytics:
      discovery: patroni
      patroni_urls: [http://patroni.internal:8008]
      database: warehouse
      tables: orders
`)
	cfg, err := ParseConfig(data)
	require.NoError(t, err)
	require.Equal(t, []string{"analytics", "dns", "events"}, cfg.ClusterNames())
	assert.Equal(t, "pg.events.internal", cfg.Clusters["dns"].DiscoveryDNSName)

	ev := cfg.Clusters["events"]
	assert.Equal(t, "ev1.internal", ev.Host, "env expanded inside a cluster")
	assert.Equal(t, 5432, ev.Port, "port is the cluster's own: the default, not 6000")
	assert.Equal(t, []string{"ev2.internal", "ev3.internal:6001"}, ev.ReplicaHosts)
	assert.Equal(t, "", ev.MigrationsDir, "migrations_dir is not inherited")
	assert.Equal(t, "", ev.MigrationHost, "migration_host is not inherited")
	assert.Equal(t, "app", ev.Database, "inherited")
	assert.Equal(t, "appuser", ev.Username, "inherited")
	assert.Equal(t, testSecret, ev.Password, "inherited")
	assert.Equal(t, 20, ev.PoolSize, "inherited")
	assert.Equal(t, 3, ev.MaxOverflow, "set")
	assert.Equal(t, 7*time.Second, ev.PoolTimeout, "from the merge key")
	assert.Equal(t, "require", ev.SSLMode, "inherited")
	assert.True(t, ev.Echo, "a key of the whole configuration: the top-level value")
	assert.Equal(t, []string{"events", "audit.event_log"}, ev.Tables)
	assert.Nil(t, ev.Clusters)

	an := cfg.Clusters["analytics"]
	assert.Equal(t, DiscoveryPatroni, an.Discovery)
	assert.Equal(t, "localhost", an.Host, "the default, only used when the first lookup fails, as at the top level")
	assert.Nil(t, an.ReplicaHosts, "replica_hosts is not inherited")
	assert.Equal(t, "warehouse", an.Database)
	assert.Equal(t, []string{"orders"}, an.Tables, "one string is a list of one")

	assert.Equal(t, DiscoveryStatic, cfg.Discovery)
	assert.Nil(t, cfg.Tables)
	assert.Equal(t, map[string]string{"events": "events", "audit.event_log": "events", "orders": "analytics"}, cfg.PlacementTables())
	assert.Equal(t, []string{testSecret}, cfg.Passwords(), "one password, once")
	require.NoError(t, cfg.Validate())

	// Without clusters nothing changes.
	plain, err := ParseConfig(section())
	require.NoError(t, err)
	assert.Nil(t, plain.Clusters)
	assert.Empty(t, plain.PlacementTables())
	plain, err = ParseConfig(section("clusters:"))
	require.NoError(t, err)
	assert.Nil(t, plain.Clusters)
}

// Every bad key of a cluster is named with its full path.
func TestParseConfigClustersInvalid(t *testing.T) {
	ev := func(lines ...string) []byte {
		return withClusters(nil, append([]string{"events:", "  host: ev1.internal"}, lines...)...)
	}
	cases := []struct {
		name    string
		yaml    []byte
		field   string
		problem string
	}{
		{"pool_size zero", ev("  pool_size: 0"), "clusters.events.pool_size", "must be greater than 0"},
		{"port not a number", ev("  port: fivefour"), "clusters.events.port", "must be an integer"},
		{"sslmode", ev("  sslmode: on"), "clusters.events.sslmode", "must be one of"},
		{"replica is the host", ev("  replica_hosts: [ev1.internal]"), "clusters.events.replica_hosts[0]", "duplicate of host"},
		{"replica bad", ev(`  replica_hosts: ["a:b:c"]`), "clusters.events.replica_hosts[0]", "too many ':'"},
		{"patroni without URL", ev("  discovery: patroni"), "clusters.events.patroni_urls", "is required"},
		{"migrations_dir missing", ev("  migrations_dir: /nonexistent/unifieddb"), "clusters.events.migrations_dir", "does not exist"},
		{"unset env var", ev("  username: ${UNIFIEDDB_TEST_UNSET_USER}"), "clusters.events.username", "UNIFIEDDB_TEST_UNSET_USER is not set"},
		{"duplicate key", ev("  pool_size: 1", "  pool_size: 2"), "clusters.events.pool_size", "appears more than once"},
		{"no host", withClusters(nil, "events:", "  pool_size: 3"), "clusters.events.host", "a cluster gives its own nodes"},
		{"empty section", withClusters(nil, "events:"), "clusters.events.host", "is required"},
		{"static discovery is no discovery of its own", withClusters(nil, "events:", "  discovery: static"), "clusters.events.host", "is required"},
		{"dns without a name of its own looks up host", withClusters(nil, "events:", "  discovery: dns"), "clusters.events.host", "is required"},
		{"top-level typo of clusters", section("cluster:", "  events:", "    host: x"), "database.cluster", `did you mean "clusters"?`},
		{"section a list", withClusters(nil, "events: [a]"), "clusters.events", "must be a mapping"},
		{"clusters a list", []byte(string(section()) + "  clusters: [events]\n"), "clusters", "must be a mapping"},
		{"reserved name", withClusters(nil, "default:", "  host: x"), "clusters.default", "reserved"},
		{"upper-case name", withClusters(nil, "Events:", "  host: x"), "clusters", `cluster name "Events" must be lowercase`},
		{"name with a dash", withClusters(nil, "ev-1:", "  host: x"), "clusters", `"ev-1"`},
		{"name starting with a digit", withClusters(nil, "1ev:", "  host: x"), "clusters", `"1ev"`},
		{"name too long", withClusters(nil, strings.Repeat("e", 64)+":", "  host: x"), "clusters", "at most 63"},
		{"name not a scalar", withClusters(nil, "[a]:", "  host: x"), "clusters", "a cluster name must be a single value"},
		{"duplicate name", withClusters(nil, "events:", "  host: a", "events:", "  host: b"), "clusters.events", "appears more than once"},
		{"tables at the top level", section("tables: [events]"), "tables", "only valid inside a cluster"},
		{"table on two clusters", withClusters(nil, "a:", "  host: a", "  tables: [orders, events]", "b:", "  host: b", "  tables: [events]"),
			"clusters.b.tables[0]", `table "events" is placed on two clusters, a and b`},
		{"table twice in one cluster", ev("  tables: [events, events]"), "clusters.events.tables[1]", "duplicate of tables[0]"},
		{"table name with a space", ev(`  tables: ["my events"]`), "clusters.events.tables[0]", "is not a table name"},
		{"table name empty", ev(`  tables: [events, ""]`), "clusters.events.tables[1]", "is empty"},
		{"tables a mapping", ev(`  tables: {a: b}`), "clusters.events.tables", "must be a list"},
		{"unknown key", ev("  replica_host: [ev2]"), "database.clusters.events.replica_host", `did you mean "replica_hosts"?`},
		{"unknown key near tables", ev("  table: [events]"), "database.clusters.events.table", `did you mean "tables"?`},
		{"top-level key in a cluster", ev("  echo: true"), "database.clusters.events.echo", "a key of the whole configuration"},
		{"unknown_keys in a cluster", ev("  unknown_keys: warn"), "database.clusters.events.unknown_keys", "set it at the top level"},
		{"nested clusters", ev("  clusters:", "    x:", "      host: x"), "database.clusters.events.clusters", "clusters do not nest"},
		{"key not a scalar", ev("  ? [a]", "  : 1"), "database.clusters.events", "unknown key (a list at line"},
		{"unknown key in strict mode", withClusters([]string{"strict_mode: true"}, "events:", "  host: x", "  pool_sise: 3"),
			"clusters.events.pool_sise", "(strict_mode)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(tc.yaml)
			ce := requireConfigError(t, err)
			require.True(t, ce.Has(tc.field), "want field %q in %v", tc.field, ce.Fields)
			for _, f := range ce.Fields {
				if f.Field == tc.field {
					assert.Contains(t, f.Problem, tc.problem)
				}
			}
			assert.Equal(t, Config{}, cfg)
		})
	}
}

// A bad top-level value a cluster inherits is one problem, named once; a
// cluster's own setting that makes an inherited value wrong is the
// cluster's.
func TestParseConfigClustersInheritedProblems(t *testing.T) {
	_, err := ParseConfig(withClusters([]string{"pool_size: 0"}, "events:", "  host: ev1"))
	ce := requireConfigError(t, err)
	assert.Equal(t, []string{"pool_size"}, configFieldNames(ce))

	_, err = ParseConfig(withClusters([]string{"pool_size: zero"}, "events:", "  host: ev1"))
	ce = requireConfigError(t, err)
	assert.Equal(t, []string{"pool_size"}, configFieldNames(ce))

	// The cluster sets it: its own problem too.
	_, err = ParseConfig(withClusters([]string{"pool_size: 0"}, "events:", "  host: ev1", "  pool_size: 0"))
	ce = requireConfigError(t, err)
	assert.Equal(t, []string{"pool_size", "clusters.events.pool_size"}, configFieldNames(ce))

	// pgbouncer in the cluster makes the inherited statement_timeout wrong there.
	_, err = ParseConfig(withClusters([]string{"statement_timeout: 5"}, "events:", "  host: ev1", "  pgbouncer: true"))
	ce = requireConfigError(t, err)
	assert.Equal(t, []string{"clusters.events.statement_timeout"}, configFieldNames(ce))
}

// unknown_keys: warn keeps a cluster's unknown keys as warnings, with their path.
func TestParseConfigClustersUnknownKeysWarn(t *testing.T) {
	cfg, err := ParseConfig(withClusters([]string{"unknown_keys: warn"}, "events:", "  host: ev1", "  poolsize: 3", "  debug_mode: true"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		`unknown key "clusters.events.poolsize" ignored (did you mean "pool_size"?)`,
		`unknown key "clusters.events.debug_mode" ignored (debug_mode is a key of the whole configuration, not of one cluster: set it at the top level)`,
	}, cfg.Warnings)
	assert.Equal(t, 10, cfg.Clusters["events"].PoolSize)
}

// Validate checks clusters built in Go the same way, with the same paths.
func TestValidateClusters(t *testing.T) {
	c := validTestConfig()
	ev := c.ClusterBase()
	ev.Host, ev.Tables = "ev1.internal", []string{"events"}
	c.Clusters = map[string]Config{"events": ev}
	require.NoError(t, c.Validate())
	assert.Equal(t, map[string]string{"events": "events"}, c.PlacementTables())

	c.Clusters["bad"] = Config{Password: "cluster-hunter2-pw", Tables: []string{"events"}, Clusters: map[string]Config{"x": {}}}
	c.Clusters["Bad"] = ev
	c.Clusters[DefaultCluster] = ev
	c.Tables = []string{"t"}
	ce := requireConfigError(t, c.Validate())
	for _, f := range []string{"tables", "clusters", "clusters.default", "clusters.bad.pool_size", "clusters.bad.host",
		"clusters.bad.port", "clusters.bad.database", "clusters.bad.clusters", "clusters.events.tables[0]"} {
		assert.True(t, ce.Has(f), "missing %s in %v", f, ce.Fields)
	}
	assert.Contains(t, ce.Error(), "clusters.bad.pool_size: must be greater than 0, got 0")
	assert.Contains(t, ce.Error(), `table "events" is placed on two clusters, bad and events`)
	assert.False(t, ce.Has("clusters.events.host"))
	assert.False(t, ce.Has("clusters.bad.read_your_writes_scope"), "a key of the whole configuration is checked at the top level only")
	assert.NotContains(t, ce.Error(), "cluster-hunter2-pw")
}

// ClusterBase keeps the inherited keys and resets the cluster's own.
func TestClusterBase(t *testing.T) {
	c := validTestConfig()
	c.Port, c.PoolSize, c.MigrationsDir, c.MigrationHost = 6000, 33, "/tmp", "direct"
	c.ReplicaHosts, c.PatroniURLs, c.Discovery, c.DiscoveryDNSName = []string{"r1"}, []string{"http://p"}, DiscoveryPatroni, "n"
	c.Clusters = map[string]Config{"x": {}}
	c.Tables, c.Warnings = []string{"t"}, []string{"w"}
	b := c.ClusterBase()
	def := DefaultConfig()
	assert.Equal(t, def.Host, b.Host)
	assert.Equal(t, def.Port, b.Port)
	assert.Equal(t, DiscoveryStatic, b.Discovery)
	assert.Empty(t, b.MigrationsDir)
	assert.Empty(t, b.MigrationHost)
	assert.Empty(t, b.DiscoveryDNSName)
	assert.Nil(t, b.ReplicaHosts)
	assert.Nil(t, b.PatroniURLs)
	assert.Nil(t, b.Clusters)
	assert.Nil(t, b.Tables)
	assert.Nil(t, b.Warnings)
	assert.Equal(t, 33, b.PoolSize)
	assert.Equal(t, testSecret, b.Password)
	assert.Equal(t, []string{"r1"}, c.ReplicaHosts, "c unchanged")
}

// No password of any cluster in String, %#v, Redacted YAML, errors or warnings.
func TestClusterPasswordsNeverShown(t *testing.T) {
	const evSecret = "events-hunter2-pw"
	t.Setenv("UNIFIEDDB_TEST_EV_PW", evSecret)
	cfg, err := ParseConfig(withClusters(nil, "events:", "  host: ev1", "  password: ${UNIFIEDDB_TEST_EV_PW}", "  tables: [events]"))
	require.NoError(t, err)
	assert.Equal(t, evSecret, cfg.Clusters["events"].Password)
	assert.Equal(t, []string{testSecret, evSecret}, cfg.Passwords())
	out, err := cfg.Redacted().MarshalYAML()
	require.NoError(t, err)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", cfg), string(out)} {
		assert.NotContains(t, s, evSecret)
		assert.NotContains(t, s, "hunter2")
	}
	assert.Contains(t, cfg.String(), " clusters.events={host=ev1 port=5432 database=app username=postgres password=*** replica_hosts=[] discovery=static tables=[events]}")
	assert.Equal(t, evSecret, cfg.Clusters["events"].Password, "Redacted does not change c")

	for _, data := range [][]byte{
		withClusters(nil, "events:", "  host: ev1", "  password: ${UNIFIEDDB_TEST_EV_PW}", "  port: ${UNIFIEDDB_TEST_EV_PW}"),
		withClusters(nil, "events:", "  host: ev1", `  password: "`+evSecret+`"`, "  tables: [\""+evSecret+"\"]"),
		withClusters(nil, "events:", "  host: ev1", `  password: "`+evSecret+`"`, "  "+evSecret+": 1"),
		withClusters([]string{"unknown_keys: warn"}, "events:", "  host: ev1", `  password: "`+evSecret+`"`, "  "+evSecret+": 1", "  tables: [x]"),
		withClusters(nil, "events:", "  host: ev1", `  password: "`+evSecret+`"`, "  replica_hosts: [\""+evSecret+":1:2\"]"),
	} {
		cfg, err := ParseConfig(data)
		if err == nil {
			assert.NotEmpty(t, cfg.Warnings, string(data))
			assert.NotContains(t, fmt.Sprint(cfg.Warnings), evSecret, string(data))
			continue
		}
		assert.NotContains(t, err.Error(), evSecret, string(data))
	}
}

// MarshalYAML writes the clusters with every key a cluster takes; reading
// it back gives the same Config.
func TestMarshalYAMLClustersRoundTrip(t *testing.T) {
	cfg, err := ParseConfig(withClusters([]string{"pool_size: 4", "echo: true"},
		"events:", "  host: ev1", "  port: 6001", "  replica_hosts: [ev2]", "  password: other-pw", "  tables: [events, logs]",
		"analytics:", "  discovery: dns", "  discovery_dns_name: an.internal"))
	require.NoError(t, err)
	out, err := cfg.MarshalYAML()
	require.NoError(t, err)
	assert.Contains(t, string(out), "\n  clusters:\n    analytics:\n      host: localhost\n")
	assert.Contains(t, string(out), "\n      tables:\n        - events\n        - logs\n")
	assert.NotContains(t, string(out), "      echo:", "a key of the whole configuration is not written in a cluster")
	back, err := ParseConfig(out)
	require.NoError(t, err, string(out))
	assert.Equal(t, cfg, back, string(out))
}
