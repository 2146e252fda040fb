package datalayer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// legacyKeys lists "section.key" for every key of every top-level mapping
// section of a legacy file, and the top-level keys that are not mappings.
func legacyKeys(t *testing.T, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var keys []string
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		name, v := root.Content[i].Value, root.Content[i+1]
		if name != "database" && !legacySections[name] {
			keys = append(keys, name)
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			keys = append(keys, name+"."+v.Content[j].Value)
		}
	}
	return keys
}

// requireEveryKeyAccounted checks that every legacy key is carried or
// dropped, and nothing else is reported.
func requireEveryKeyAccounted(t *testing.T, data []byte, r MigrationReport) {
	t.Helper()
	var reported []string
	for _, m := range r.Carried {
		reported = append(reported, m.From)
	}
	for _, n := range r.Dropped {
		reported = append(reported, n.Key)
		assert.NotEmpty(t, n.Reason, n.Key)
	}
	assert.ElementsMatch(t, legacyKeys(t, data), reported, r.String())
}

func TestMigrateLegacyFull(t *testing.T) {
	old := readTestdata(t, "legacy_full.yaml")
	out, report, err := MigrateLegacyConfig(old)
	require.NoError(t, err)
	assert.False(t, report.AlreadyUnified)

	text := string(out)
	assert.Contains(t, text, "username: ${DATABASE_USER}\n")
	assert.Contains(t, text, "password: ${DATABASE_PASSWORD}\n")
	for _, gone := range []string{"sync_pool_size", "mcp_pool_size", "ha_database", "session_management", "expire_on_commit"} {
		assert.NotContains(t, text, gone)
	}
	// Only keys with a legacy value (and the required ones) are written.
	assert.NotContains(t, text, "statement_cache_size")
	assert.NotContains(t, text, "sslmode")

	t.Setenv("DATABASE_USER", "app")
	t.Setenv("DATABASE_PASSWORD", testSecret)
	cfg, err := ParseConfig(out)
	require.NoError(t, err, text)
	want := DefaultConfig()
	want.Host = "db.internal"
	want.Port = 5432
	want.Database = "prompt_improver"
	want.Username = "app"
	want.Password = testSecret
	want.PoolSize = 20
	want.BatchPoolSize = 5
	want.TransactionalPoolSize = 2
	want.MaxOverflow = 10
	want.PoolTimeout = 30 * time.Second
	want.PoolRecycle = time.Hour
	want.Echo = false
	want.ReplicaHosts = []string{"replica1.internal", "replica2.internal:5433"}
	want.FailoverTimeout = 30 * time.Second
	want.HealthCheckInterval = 10 * time.Second
	want.EnableHA = true
	assert.Equal(t, want, cfg)

	assert.ElementsMatch(t, []KeyMove{
		{"database.host", "host"}, {"database.port", "port"}, {"database.database", "database"},
		{"database.username", "username"}, {"database.password", "password"},
		{"database.pool_timeout", "pool_timeout"}, {"database.pool_recycle", "pool_recycle"}, {"database.echo", "echo"},
		{"ha_database.replica_hosts", "replica_hosts"}, {"ha_database.failover_timeout", "failover_timeout"},
		{"ha_database.health_check_interval", "health_check_interval"},
		{"connection_pools.mcp_pool_size", "pool_size"}, {"connection_pools.ml_pool_size", "batch_pool_size"},
		{"connection_pools.admin_pool_size", "transactional_pool_size"}, {"connection_pools.max_overflow", "max_overflow"},
	}, report.Carried)
	dropped := map[string]string{}
	for _, n := range report.Dropped {
		dropped[n.Key] = n.Reason
	}
	assert.Len(t, dropped, 5)
	assert.Contains(t, dropped["database.sync_pool_size"], "connection_pools.mcp_pool_size")
	assert.Contains(t, dropped["ha_database.primary_host"], "same value as database.host")
	assert.Contains(t, dropped["session_management.enable_async"], "always on")
	assert.Contains(t, dropped["session_management.expire_on_commit"], "identity map")
	assert.Contains(t, dropped["session_management.autoflush"], "flush")
	require.Len(t, report.Warnings, 1)
	assert.Contains(t, report.Warnings[0], "mcp_pool_size")
	requireEveryKeyAccounted(t, old, report)

	s := report.String()
	assert.Contains(t, s, "connection_pools.mcp_pool_size -> pool_size")
	assert.Contains(t, s, "session_management.expire_on_commit: GORM has no session identity map")
}

func TestMigrateLegacyVariants(t *testing.T) {
	type check func(t *testing.T, out string, cfg Config, r MigrationReport)
	dropped := func(r MigrationReport, key string) string {
		for _, n := range r.Dropped {
			if n.Key == key {
				return n.Reason
			}
		}
		return ""
	}
	cases := []struct {
		name  string
		in    string
		check check
	}{
		{"database section only, legacy names", `
database:
  host: pg
  name: app
  user: svc
  sync_pool_size: 4
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, "app", cfg.Database)
			assert.Equal(t, "svc", cfg.Username)
			assert.Equal(t, 4, cfg.PoolSize)
			assert.Equal(t, "placeholder-password", cfg.Password)
			assert.False(t, cfg.EnableHA, "no replicas")
			assert.Contains(t, out, "password: ${DATABASE_PASSWORD}")
			assert.Contains(t, r.Warnings, "the legacy file has no password: wrote ${DATABASE_PASSWORD}")
		}},
		{"no username or password", "database: {host: pg, database: app}\nconnection_pools: {mcp_pool_size: 3}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Contains(t, out, "username: ${DATABASE_USER}")
				assert.Equal(t, "placeholder-user", cfg.Username)
				assert.Equal(t, 3, cfg.PoolSize)
			}},
		{"both pool keys: mcp wins", `
database: {host: pg, database: app, sync_pool_size: 8}
connection_pools: {mcp_pool_size: 12}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, 12, cfg.PoolSize)
			assert.Contains(t, dropped(r, "database.sync_pool_size"), "connection_pools.mcp_pool_size is used")
			require.Len(t, r.Warnings, 3) // and the username and password placeholders
			assert.Contains(t, r.Warnings[0], `database.sync_pool_size ("8") disagrees with connection_pools.mcp_pool_size ("12")`)
		}},
		{"odd types: numbers and bools as strings, yes/no", `
database: {host: pg, database: app, echo: "true", pool_recycle: "600", username: u, password: p}
connection_pools: {mcp_pool_size: "20", ml_pool_size: " 7 ", max_overflow: "0"}
ha_database: {replica_hosts: [r1], enable_ha: "yes", failover_timeout: "1m"}
session_management: {echo: no}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, 20, cfg.PoolSize)
			assert.Equal(t, 7, cfg.BatchPoolSize)
			assert.Equal(t, 0, cfg.MaxOverflow)
			assert.True(t, cfg.Echo)
			assert.True(t, cfg.EnableHA)
			assert.Equal(t, 10*time.Minute, cfg.PoolRecycle)
			assert.Equal(t, time.Minute, cfg.FailoverTimeout)
			assert.Contains(t, out, "\n  pool_size: 20\n")
			assert.Contains(t, out, "\n  echo: true\n")
			assert.Contains(t, out, "\n  enable_ha: true\n")
			assert.Contains(t, out, "\n  pool_recycle: 600 # seconds\n")
			assert.Contains(t, dropped(r, "session_management.echo"), "database.echo is used")
		}},
		{"placeholders kept verbatim", `
database:
  host: ${DB_HOST:-pg.internal}
  port: ${DB_PORT}
  database: "${DB_NAME:-app}"
  username: ${DB_USER}
  password: '${DB_PASSWORD}'
connection_pools:
  mcp_pool_size: ${POOL_SIZE:-15}
ha_database:
  replica_hosts: ["${REPLICA_1}", "r2:${REPLICA_PORT:-5433}"]
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			for _, s := range []string{"host: ${DB_HOST:-pg.internal}\n", "port: ${DB_PORT}\n", `database: "${DB_NAME:-app}"` + "\n",
				"username: ${DB_USER}\n", "password: '${DB_PASSWORD}'\n", "pool_size: ${POOL_SIZE:-15}\n",
				`- "${REPLICA_1}"`, `- "r2:${REPLICA_PORT:-5433}"`} {
				assert.Contains(t, out, s)
			}
			assert.Equal(t, "pg.internal", cfg.Host)
			assert.Equal(t, 15, cfg.PoolSize)
			assert.True(t, cfg.EnableHA)
		}},
		{"placeholder host, replica on localhost", "database: {host: '${LEGACY_HOST}', database: app, port: '${PGPORT}'}\nha_database: {replica_hosts: [localhost]}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, []string{"localhost"}, cfg.ReplicaHosts)
			}},
		{"unknown keys and sections reported", `
logging: {level: debug}
database: {host: pg, database: app, pool_pre_ping: true, colour: blue}
connection_pools: {mcp_pool_size: 5, readonly_pool_size: 3, burst: 2}
session_management: {isolation_level: SERIALIZABLE}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, reasonUnknown, dropped(r, "database.colour"))
			assert.Equal(t, reasonUnknown, dropped(r, "connection_pools.burst"))
			assert.Contains(t, dropped(r, "logging"), "not a database section")
			assert.Contains(t, dropped(r, "database.pool_pre_ping"), "health checks")
			assert.Contains(t, dropped(r, "connection_pools.readonly_pool_size"), "replicas")
			assert.Contains(t, dropped(r, "session_management.isolation_level"), "per transaction")
			assert.NotContains(t, out, "colour")
		}},
		{"primary_host mismatch", `
database: {host: db1.internal, database: app}
ha_database: {primary_host: db2.internal, replica_hosts: [r1]}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, "db1.internal", cfg.Host)
			require.NotEmpty(t, r.Warnings)
			assert.Contains(t, r.Warnings[0], `ha_database.primary_host ("db2.internal") disagrees with database.host ("db1.internal")`)
		}},
		{"primary_host only", "database: {database: app}\nha_database: {primary_host: db2.internal}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, "db2.internal", cfg.Host)
				assert.Contains(t, r.Carried, KeyMove{"ha_database.primary_host", "host"})
			}},
		{"no replicas: enable_ha false", "database: {host: pg, database: app}\nha_database: {failover_timeout: 5, health_check_interval: 2.5}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.False(t, cfg.EnableHA)
				assert.Contains(t, out, "enable_ha: false")
				assert.Equal(t, 2500*time.Millisecond, cfg.HealthCheckInterval)
			}},
		{"empty replica list: enable_ha false", "database: {host: pg, database: app}\nha_database: {replica_hosts: []}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.False(t, cfg.EnableHA)
				assert.Nil(t, cfg.ReplicaHosts)
			}},
		{"explicit enable_ha false with replicas", "database: {host: pg, database: app}\nha_database: {replica_hosts: [r1], enable_ha: false}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.False(t, cfg.EnableHA)
				assert.Equal(t, []string{"r1"}, cfg.ReplicaHosts)
			}},
		{"replicas as one string", "database: {host: pg, database: app}\nha_database: {replica_hosts: 'r1, r2:5433'}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, []string{"r1", "r2:5433"}, cfg.ReplicaHosts)
				assert.True(t, cfg.EnableHA)
			}},
		{"replica_port fills entries without a port", "database: {host: pg, database: app}\nha_database: {replica_hosts: [r1, 'r2:5434', '[::1]'], replica_port: 5433}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, []string{"r1:5433", "r2:5434", "[::1]:5433"}, cfg.ReplicaHosts)
				assert.Contains(t, r.Carried, KeyMove{"ha_database.replica_port", "replica_hosts"})
			}},
		{"replica_port same as port", "database: {host: pg, port: 6000, database: app}\nha_database: {replica_hosts: [r1], replica_port: 6000}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, []string{"r1"}, cfg.ReplicaHosts)
				assert.Contains(t, dropped(r, "ha_database.replica_port"), "same as port")
			}},
		{"async pool only, load balancing, timeouts", `
database: {host: pg, database: app, async_pool_size: 6, connect_timeout: 3, command_timeout: 60, ssl_mode: require}
ha_database: {replica_hosts: [r1], load_balancing: latency, max_replication_lag: 2}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, 6, cfg.PoolSize)
			assert.Equal(t, 3*time.Second, cfg.ConnectionTimeout)
			assert.Equal(t, time.Minute, cfg.StatementTimeout)
			assert.Equal(t, "require", cfg.SSLMode)
			assert.Equal(t, "least_latency", cfg.ReplicaPolicy)
			assert.Equal(t, 2*time.Second, cfg.MaxReplicationLag)
		}},
		{"unified key names in legacy sections are carried", `
database: {host: pg, database: app, statement_cache_size: 0, application_name: worker, sync_pool_size: 2}
connection_pools: {batch_size: 500}
session_management: {debug_mode: true}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, 0, cfg.StatementCacheSize)
			assert.Equal(t, "worker", cfg.ApplicationName)
			assert.Equal(t, 500, cfg.BatchSize)
			assert.True(t, cfg.DebugMode)
			assert.Contains(t, r.Carried, KeyMove{"connection_pools.batch_size", "batch_size"})
		}},
		{"load_balancing without an equivalent", "database: {host: pg, database: app}\nha_database: {replica_hosts: [r1], load_balancing: weighted}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, "round_robin", cfg.ReplicaPolicy)
				assert.NotContains(t, out, "replica_policy")
				assert.Contains(t, dropped(r, "ha_database.load_balancing"), "no equivalent replica_policy")
			}},
		{"pool_timeout in two sections", "database: {host: pg, database: app, pool_timeout: 30}\nconnection_pools: {pool_timeout: 45}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, 30*time.Second, cfg.PoolTimeout)
				assert.Contains(t, dropped(r, "connection_pools.pool_timeout"), "database.pool_timeout is used")
			}},
		{"key set twice: the later value wins, as in PyYAML", "database:\n  host: pg\n  database: app\n  sync_pool_size: 3\n  sync_pool_size: 9\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, 9, cfg.PoolSize)
				assert.Contains(t, dropped(r, "database.sync_pool_size"), "set again at line 5")
			}},
		{"empty and null sections", "database: {host: pg, database: app, name: app}\nsession_management:\nconnection_pools: {}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, "app", cfg.Database)
				assert.Contains(t, dropped(r, "database.name"), "same value as database.database")
			}},
		{"null values keep defaults", "database: {host: pg, database: app, pool_timeout: ~, password: }\nconnection_pools: {mcp_pool_size: null}\n",
			func(t *testing.T, out string, cfg Config, r MigrationReport) {
				assert.Equal(t, 10, cfg.PoolSize)
				assert.Equal(t, 30*time.Second, cfg.PoolTimeout)
				assert.Equal(t, "", cfg.Password, "an explicitly empty password stays empty")
				assert.Contains(t, dropped(r, "connection_pools.mcp_pool_size"), "no value")
			}},
		{"literal password is carried but never reported", `
database: {host: pg, database: app, password: "hunter2-SECRET", user: "hunter2-SECRET"}
connection_pools: {mcp_pool_size: 5}
`, func(t *testing.T, out string, cfg Config, r MigrationReport) {
			assert.Equal(t, testSecret, cfg.Password)
			assert.NotContains(t, r.String(), "hunter2")
		}},
	}
	require.GreaterOrEqual(t, len(cases), 15)
	env := map[string]string{"DATABASE_USER": "placeholder-user", "DATABASE_PASSWORD": "placeholder-password",
		"DB_PORT": "5432", "LEGACY_HOST": "pg", "PGPORT": "5432", "DB_USER": "u", "DB_PASSWORD": "p", "REPLICA_1": "r1"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, report, err := MigrateLegacyConfig([]byte(tc.in))
			require.NoError(t, err)
			assert.False(t, report.AlreadyUnified)
			requireEveryKeyAccounted(t, []byte(tc.in), report)
			assert.NotContains(t, report.String(), "hunter2")
			cfg, err := parseConfig(out, lookup, false)
			require.NoError(t, err, string(out))
			tc.check(t, string(out), cfg, report)
		})
	}
}

func TestMigrateLegacyErrors(t *testing.T) {
	cases := []struct {
		name, in, field, contains string
	}{
		{"empty file", "", "database", "empty"},
		{"whitespace", "  \n\n", "database", "empty"},
		{"comments only", "# nothing\n", "database", "empty"},
		{"bad YAML", "database:\n  host: [\n  password: hunter2-SECRET\n", "", "invalid configuration: invalid YAML"}, // a syntax error is no key's
		{"list at top level", "- database\n- ha_database\n", "database", "not a list"},
		{"scalar at top level", "hunter2-SECRET", "database", "mapping"},
		{"no sections", "logging: {level: debug}\n", "database", "no database section"},
		{"section not a mapping", "database: {host: pg, database: app}\nha_database: [r1]\n", "ha_database", "mapping"},
		{"missing database name", "ha_database: {replica_hosts: [r1]}\nconnection_pools: {mcp_pool_size: 5}\n", "database", "database.name"},
		{"invalid pool size", "database: {host: pg, database: app}\nconnection_pools: {mcp_pool_size: 0}\n", "pool_size", "connection_pools.mcp_pool_size"},
		{"pool size not a number", "database: {host: pg, database: app, sync_pool_size: many}\n", "pool_size", "database.sync_pool_size"},
		{"bad replica", "database: {host: pg, database: app}\nha_database: {replica_hosts: ['r1:x']}\n", "replica_hosts[0]", "ha_database.replica_hosts"},
		{"replica equals the primary", "database: {host: pg, database: app}\nha_database: {replica_hosts: [pg]}\n", "replica_hosts[0]", "duplicate"},
		{"bad password value", "database: {host: pg, database: app, sync_pool_size: 5, password: [hunter2-SECRET]}\n", "password", "single value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := MigrateLegacyConfig([]byte(tc.in))
			assert.Nil(t, out)
			ce := requireConfigError(t, err)
			assert.True(t, ce.Has(tc.field), "want %s in %v", tc.field, ce.Fields)
			assert.Contains(t, err.Error(), tc.contains)
		})
	}
}

func TestMigrateAlreadyUnified(t *testing.T) {
	for _, in := range [][]byte{
		readTestdata(t, "unified.yaml"),
		[]byte("database: {host: pg, database: app, pool_timeout: 30, echo: true}\nlogging: {level: debug}\n"),
	} {
		out, report, err := MigrateLegacyConfig(in)
		require.NoError(t, err)
		assert.True(t, report.AlreadyUnified)
		assert.Equal(t, in, out)
		assert.Empty(t, report.Carried)
		assert.Empty(t, report.Dropped)
		assert.Empty(t, report.Warnings)
		assert.Contains(t, report.String(), "already")
	}
	// Unified, but invalid: unchanged, with a warning.
	_, report, err := MigrateLegacyConfig([]byte("database: {host: pg, port: 0}\n"))
	require.NoError(t, err)
	assert.True(t, report.AlreadyUnified)
	require.Len(t, report.Warnings, 1)
	assert.Contains(t, report.Warnings[0], "port")
}

// TestMigrateOutputIsMigratedAgainUnchanged: the output of a migration is
// itself recognised as unified.
func TestMigrateOutputIsMigratedAgainUnchanged(t *testing.T) {
	out, _, err := MigrateLegacyConfig(readTestdata(t, "legacy_full.yaml"))
	require.NoError(t, err)
	again, report, err := MigrateLegacyConfig(out)
	require.NoError(t, err)
	assert.True(t, report.AlreadyUnified)
	assert.Equal(t, out, again)
}

func FuzzMigrateLegacyConfig(f *testing.F) {
	for _, s := range []string{
		"",
		"database:\n",
		"database: {host: pg, database: app}\n",
		"database: {host: pg, database: app, sync_pool_size: '5'}\nconnection_pools: {mcp_pool_size: 7, ml_pool_size: 2}\n",
		"ha_database: {primary_host: a, replica_hosts: 'a,b:1', replica_port: 2}\ndatabase: {database: d}\n",
		"ha_database: {replica_hosts: [r1, '[::1]'], replica_port: ${P}, enable_ha: 'no'}\ndatabase: {database: d, port: ${PORT}}\n",
		"database: &d {host: pg, database: app}\nha_database: *d\n",
		"database: {host: pg, database: app}\nha_database: {<<: {failover_timeout: 3}, load_balancing: random}\n",
		"session_management: {enable_async: true}\n",
		"- a\n",
		"database: {host: pg, database: app, password: ~, username: ''}\n",
		"database:\n  host: pg\n  host: pg2\n  name: ${N}\n",
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"legacy_full.yaml", "unified.yaml"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, report, err := MigrateLegacyConfig(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Fields) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty *ConfigError", err, err)
			}
			if out != nil {
				t.Fatalf("output with an error")
			}
			return
		}
		_ = report.String()
		if report.AlreadyUnified {
			if string(out) != string(data) {
				t.Fatalf("already unified, but changed")
			}
			return
		}
		if _, err := parseConfig(out, emptyEnv, true); err != nil {
			t.Fatalf("migration output does not parse: %v\n%s", err, out)
		}
		if !strings.HasPrefix(string(out), "#") {
			t.Fatalf("no header comment:\n%s", out)
		}
	})
}

func TestMigrateLegacySessionTimeout(t *testing.T) {
	// session_management.session_timeout is part of the guide's legacy
	// layout: it is explained, not dropped as unknown.
	old := append(readTestdata(t, "legacy_full.yaml"), "  session_timeout: 3600\n"...)
	_, report, err := MigrateLegacyConfig(old)
	require.NoError(t, err)
	var reason string
	for _, n := range report.Dropped {
		if n.Key == "session_management.session_timeout" {
			reason = n.Reason
		}
	}
	assert.NotEqual(t, reasonUnknown, reason)
	assert.Contains(t, reason, "context")
	requireEveryKeyAccounted(t, old, report)
}
