package datalayer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSecret = "hunter2-SECRET"

// section builds a configuration from a valid base (host, database,
// password) and the given `key: value` lines, which replace base lines with
// the same key.
func section(lines ...string) []byte {
	base := []string{"host: db.internal", "database: app", `password: "` + testSecret + `"`}
	keys := map[string]bool{}
	for _, l := range lines {
		k, _, _ := strings.Cut(l, ":")
		keys[strings.TrimSpace(k)] = true
	}
	var b strings.Builder
	b.WriteString("database:\n")
	for _, l := range base {
		if k, _, _ := strings.Cut(l, ":"); !keys[k] {
			b.WriteString("  " + l + "\n")
		}
	}
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return []byte(b.String())
}

// requireConfigError asserts that err is a *ConfigError wrapping
// ErrInvalidConfig, without the test password, and returns it.
func requireConfigError(t *testing.T, err error) *ConfigError {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.NotContains(t, err.Error(), testSecret)
	assert.NotContains(t, err.Error(), "hunter2")
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	return ce
}

func TestParseConfigValid(t *testing.T) {
	cfg, err := ParseConfig(section())
	require.NoError(t, err)
	want := DefaultConfig()
	want.Host, want.Database, want.Password = "db.internal", "app", testSecret
	assert.Equal(t, want, cfg)
}

func TestParseConfigAllKeys(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
database:
  host: pg1.internal
  port: 6432
  database: prompt_improver
  username: app
  password: "s3cret"
  pool_size: 20
  max_overflow: 0
  pool_timeout: 10
  pool_recycle: 0
  replica_hosts: [pg2.internal, "pg3.internal:6433", "[::1]:5433"]
  failover_timeout: 1m30s
  health_check_interval: 2.5
  statement_cache_size: 0
  prepared_statement_cache_size: 64
  connection_timeout: "3s"
  enable_ha: false
  enable_metrics: "false"
  enable_health_checks: no
  strict_mode: true
  echo: true
  debug_mode: TRUE
  sslmode: verify-full
  application_name: worker
  max_replication_lag: 0.5
  replica_policy: least_latency
  fallback_to_primary: false
  batch_pool_size: 2
  batch_size: "500"
  transactional_pool_size: 3
  statement_timeout: 15s
  batch_statement_timeout: 0
  transaction_retries: 0
  read_your_writes_timeout: 250ms
  read_your_writes_scope: instance
  simple_protocol: true
  pgbouncer: false
  migration_host: pg1-direct.internal:5432
  tcp_keepalive: 20s
  tcp_user_timeout: 0
  discovery: static
  discovery_interval: 30s
  patroni_urls: "http://10.0.0.1:8008, https://10.0.0.2:8008"
  discovery_dns_name: pg.internal
  unknown_keys: warn
`))
	require.NoError(t, err)
	assert.Equal(t, Config{
		Host: "pg1.internal", Port: 6432, Database: "prompt_improver", Username: "app", Password: "s3cret",
		PoolSize: 20, MaxOverflow: 0, PoolTimeout: 10 * time.Second, PoolRecycle: 0,
		ReplicaHosts:    []string{"pg2.internal", "pg3.internal:6433", "[::1]:5433"},
		FailoverTimeout: 90 * time.Second, HealthCheckInterval: 2500 * time.Millisecond,
		StatementCacheSize: 0, PreparedStatementCacheSize: 64, ConnectionTimeout: 3 * time.Second,
		EnableHA: false, EnableMetrics: false, EnableHealthChecks: false, StrictMode: true, Echo: true, DebugMode: true,
		SSLMode: "verify-full", ApplicationName: "worker", MaxReplicationLag: 500 * time.Millisecond,
		ReplicaPolicy: "least_latency", FallbackToPrimary: false, BatchPoolSize: 2, BatchSize: 500,
		TransactionalPoolSize: 3, StatementTimeout: 15 * time.Second, BatchStatementTimeout: 0,
		TransactionRetries: 0, ReadYourWritesTimeout: 250 * time.Millisecond, ReadYourWritesScope: "instance",
		SimpleProtocol: true, MigrationHost: "pg1-direct.internal:5432", TCPKeepalive: 20 * time.Second, TCPUserTimeout: 0,
		Discovery: "static", DiscoveryInterval: 30 * time.Second,
		PatroniURLs: []string{"http://10.0.0.1:8008", "https://10.0.0.2:8008"}, DiscoveryDNSName: "pg.internal",
		UnknownKeys: UnknownKeysWarn,
	}, cfg)
}

func TestParseConfigInvalid(t *testing.T) {
	cases := []struct {
		name  string
		yaml  []byte
		field string
	}{
		{"empty host", section(`host: ""`), "host"},
		{"host with port", section("host: db:5432"), "host"},
		{"host with space", section(`host: "db internal"`), "host"},
		{"no database", section(`database: ""`), "database"},
		{"port zero", section("port: 0"), "port"},
		{"port too large", section("port: 65536"), "port"},
		{"port not a number", section("port: fivefour"), "port"},
		{"port a list", section("port: [1]"), "port"},
		{"port null", section("port:"), "port"},
		{"pool_size zero", section("pool_size: 0"), "pool_size"},
		{"pool_size huge", section("pool_size: 100000000"), "pool_size"},
		{"pool_size float", section("pool_size: 2.5"), "pool_size"},
		{"max_overflow negative", section("max_overflow: -1"), "max_overflow"},
		{"pool_timeout zero", section("pool_timeout: 0"), "pool_timeout"},
		{"pool_timeout bad", section("pool_timeout: soon"), "pool_timeout"},
		{"pool_timeout nan", section("pool_timeout: NaN"), "pool_timeout"},
		{"pool_recycle negative", section("pool_recycle: -1s"), "pool_recycle"},
		{"failover_timeout negative", section("failover_timeout: -5"), "failover_timeout"},
		{"health_check_interval zero", section("health_check_interval: 0s"), "health_check_interval"},
		{"connection_timeout zero", section("connection_timeout: 0.0"), "connection_timeout"},
		{"statement_timeout negative", section("statement_timeout: -0.5"), "statement_timeout"},
		{"batch_statement_timeout negative", section("batch_statement_timeout: -1m"), "batch_statement_timeout"},
		{"max_replication_lag negative", section("max_replication_lag: -1"), "max_replication_lag"},
		{"read_your_writes_timeout negative", section("read_your_writes_timeout: -1ms"), "read_your_writes_timeout"},
		{"read_your_writes_scope unknown", section("read_your_writes_scope: session"), "read_your_writes_scope"},
		{"tcp_keepalive negative", section("tcp_keepalive: -1s"), "tcp_keepalive"},
		{"tcp_user_timeout negative", section("tcp_user_timeout: -1s"), "tcp_user_timeout"},
		{"statement_cache_size negative", section("statement_cache_size: -1"), "statement_cache_size"},
		{"prepared_statement_cache_size negative", section("prepared_statement_cache_size: -2"), "prepared_statement_cache_size"},
		{"transaction_retries negative", section("transaction_retries: -1"), "transaction_retries"},
		{"batch_pool_size zero", section("batch_pool_size: 0"), "batch_pool_size"},
		{"transactional_pool_size zero", section("transactional_pool_size: 0"), "transactional_pool_size"},
		{"batch_size zero", section("batch_size: 0"), "batch_size"},
		{"replica_policy", section("replica_policy: fastest"), "replica_policy"},
		{"sslmode", section("sslmode: on"), "sslmode"},
		{"enable_ha not a bool", section("enable_ha: maybe"), "enable_ha"},
		{"replica empty", section(`replica_hosts: ["a.internal", ""]`), "replica_hosts[1]"},
		{"replica no port", section(`replica_hosts: ["a.internal:"]`), "replica_hosts[0]"},
		{"replica no host", section(`replica_hosts: [":5432"]`), "replica_hosts[0]"},
		{"replica bad port", section(`replica_hosts: ["a.internal:99999"]`), "replica_hosts[0]"},
		{"replica port not a number", section(`replica_hosts: ["a.internal:pg"]`), "replica_hosts[0]"},
		{"replica spaces", section(`replica_hosts: ["a.internal", "b internal"]`), "replica_hosts[1]"},
		{"replica bare ipv6", section(`replica_hosts: ["::1:5433"]`), "replica_hosts[0]"},
		{"replica bracketed non-ipv6", section(`replica_hosts: ["[db]:5433"]`), "replica_hosts[0]"},
		{"replica is the host", section(`replica_hosts: ["db.internal:5432"]`), "replica_hosts[0]"},
		{"replica is the host, default port", section(`replica_hosts: ["a.internal", "DB.internal"]`), "replica_hosts[1]"},
		{"replica duplicate", section(`replica_hosts: ["a.internal", "a.internal:5432"]`), "replica_hosts[1]"},
		{"replica comma string", section(`replica_hosts: "a.internal, ,b.internal"`), "replica_hosts[1]"},
		{"replica a mapping", section(`replica_hosts: {a: b}`), "replica_hosts"},
		{"replica nested list", section(`replica_hosts: [[a]]`), "replica_hosts[0]"},
		{"password a list", section(`password: [hunter2-SECRET]`), "password"},
		{"duplicate key", section("pool_size: 5", "pool_size: 6"), "pool_size"},
		{"unset env var", section("username: ${UNIFIEDDB_TEST_UNSET_USER}"), "username"},
		{"no database section", []byte("db:\n  host: x\n"), "database"},
		{"database section a list", []byte("database: [a]\n"), "database"},
		{"database section null", []byte("database:\n"), "database"},
		{"top level a list", []byte("- database\n"), "database"},
		{"top level a scalar", []byte("hunter2-SECRET\n"), "database"},
		{"empty", []byte(""), "database"},
		{"comments only", []byte("# nothing\n"), "database"},
		{"bad YAML", []byte("database:\n  host: [\n  password: hunter2-SECRET\n"), ""},                        // a syntax error is no key's
		{"bad YAML on the password line", []byte("database:\n  host: x\n  password: \"hunter2-SECRET\n"), ""}, // a syntax error is no key's
		{"unknown anchor as password", []byte("database:\n  host: x\n  password: *hunter2-SECRET\n"), ""},     // a syntax error is no key's
		{"tabs", []byte("database:\n\thost: x\n\tpassword: hunter2-SECRET\n"), ""},                            // a syntax error is no key's
		{"duplicate section", []byte("database: {host: a, database: b}\ndatabase: {host: a, database: b}\n"), "database"},
		{"discovery unknown", section("discovery: consul"), "discovery"},
		{"discovery_interval zero", section("discovery_interval: 0"), "discovery_interval"},
		{"discovery patroni without URL", section("discovery: patroni"), "patroni_urls"},
		{"discovery patroni without HA", section("discovery: patroni", "patroni_urls: http://p:8008", "enable_ha: false"), "enable_ha"},
		{"discovery dns without HA", section("discovery: dns", "enable_ha: false"), "enable_ha"},
		{"patroni_urls not http", section(`patroni_urls: ["http://p:8008", "p:8008"]`), "patroni_urls[1]"},
		{"patroni_urls no host", section(`patroni_urls: ["http://"]`), "patroni_urls[0]"},
		{"patroni_urls password not shown", section(`patroni_urls: ["ftp://u:hunter2-SECRET@p"]`), "patroni_urls[0]"},
		{"discovery_dns_name with space", section(`discovery_dns_name: "a b"`), "discovery_dns_name"},
		{"unknown key in strict mode", section("strict_mode: true", "pool_sise: 3"), "pool_sise"},
	}
	require.GreaterOrEqual(t, len(cases), 20)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(tc.yaml)
			ce := requireConfigError(t, err)
			assert.True(t, ce.Has(tc.field), "want field %q in %v", tc.field, ce.Fields)
			assert.Equal(t, Config{}, cfg)
		})
	}
}

func TestParseConfigNamesEveryProblem(t *testing.T) {
	_, err := ParseConfig([]byte(`
database:
  host: ""
  port: 70000
  password: "hunter2-SECRET"
  pool_size: -1
  max_overflow: lots
  pool_timeout: 0
  replica_hosts: ["ok.internal", "bad:host:x", ""]
  sslmode: sometimes
  replica_policy: fastest
  username: ${UNIFIEDDB_TEST_UNSET}
`))
	ce := requireConfigError(t, err)
	for _, f := range []string{"host", "port", "database", "pool_size", "max_overflow", "pool_timeout",
		"replica_hosts[1]", "replica_hosts[2]", "sslmode", "replica_policy", "username"} {
		assert.True(t, ce.Has(f), "missing %s in %v", f, ce.Fields)
	}
	assert.False(t, ce.Has("replica_hosts[0]"))
	assert.Len(t, ce.Fields, 11, "each problem once: %v", ce.Fields)
}

func TestParseConfigPasswordNeverShown(t *testing.T) {
	// The password's value used where it does not belong still is not shown.
	t.Setenv("UNIFIEDDB_TEST_PW", testSecret)
	for _, data := range [][]byte{
		section("password: ${UNIFIEDDB_TEST_PW}", "port: ${UNIFIEDDB_TEST_PW}"),
		section("port: hunter2-SECRET"),
		section("hunter2-SECRET: 1"),
		section("strict_mode: true", "hunter2-SECRET: 1"),
		section(`password: "hunter2-SECRET"`, `replica_hosts: ["hunter2-SECRET:1:2"]`),
		[]byte("database:\n  password: &a hunter2-SECRET\n  host: *b\n"),
		[]byte("database:\n  password: 'hunter2-SECRET\n"),
		[]byte("database:\n  password: hunter2-SECRET: x\n"),
		[]byte("database:\n  password: {hunter2-SECRET\n"),
	} {
		cfg, err := ParseConfig(data)
		if err == nil {
			assert.NotContains(t, fmt.Sprint(cfg.Warnings), "hunter2", string(data))
			continue
		}
		assert.NotContains(t, err.Error(), "hunter2", string(data))
	}
}

func TestParseConfigEnv(t *testing.T) {
	t.Setenv("UNIFIEDDB_TEST_HOST", "pg.example")
	t.Setenv("UNIFIEDDB_TEST_PORT", "6543")
	t.Setenv("UNIFIEDDB_TEST_EMPTY", "")
	t.Setenv("UNIFIEDDB_TEST_HA", "false")
	t.Setenv("UNIFIEDDB_TEST_TIMEOUT", "2.5")
	t.Setenv("UNIFIEDDB_TEST_REPLICAS", "r1, r2:5433")
	t.Setenv("DATABASE_PASSWORD", testSecret)
	cfg, err := ParseConfig([]byte(`
database:
  host: ${UNIFIEDDB_TEST_HOST}
  port: ${UNIFIEDDB_TEST_PORT:-5432}
  database: db_${UNIFIEDDB_TEST_UNSET:-main}
  username: ${UNIFIEDDB_TEST_EMPTY:-fallback}
  password: ${DATABASE_PASSWORD}
  pool_size: ${UNIFIEDDB_TEST_UNSET:-7}
  pool_timeout: ${UNIFIEDDB_TEST_TIMEOUT}
  enable_ha: ${UNIFIEDDB_TEST_HA}
  application_name: "$$app-$HOME-${UNIFIEDDB_TEST_EMPTY}"
  replica_hosts: ${UNIFIEDDB_TEST_REPLICAS}
  sslmode: !raw "${NOT_EXPANDED}"
`))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce) // sslmode "${NOT_EXPANDED}" is not a valid mode
	assert.Equal(t, []FieldError{{Field: "sslmode", Problem: `must be one of disable, allow, prefer, require, verify-ca, verify-full, got "${NOT_EXPANDED}"`}}, ce.Fields)

	cfg, err = ParseConfig([]byte(`
database:
  host: ${UNIFIEDDB_TEST_HOST}
  port: ${UNIFIEDDB_TEST_PORT:-5432}
  database: db_${UNIFIEDDB_TEST_UNSET:-main}
  username: ${UNIFIEDDB_TEST_EMPTY:-fallback}
  password: ${DATABASE_PASSWORD}
  pool_size: ${UNIFIEDDB_TEST_UNSET:-7}
  pool_timeout: ${UNIFIEDDB_TEST_TIMEOUT}
  enable_ha: ${UNIFIEDDB_TEST_HA}
  application_name: "$$app-$HOME-${UNIFIEDDB_TEST_EMPTY}"
  replica_hosts: ${UNIFIEDDB_TEST_REPLICAS}
`))
	require.NoError(t, err)
	assert.Equal(t, "pg.example", cfg.Host)
	assert.Equal(t, 6543, cfg.Port)
	assert.Equal(t, "db_main", cfg.Database)
	assert.Equal(t, "fallback", cfg.Username)
	assert.Equal(t, testSecret, cfg.Password)
	assert.Equal(t, 7, cfg.PoolSize)
	assert.Equal(t, 2500*time.Millisecond, cfg.PoolTimeout)
	assert.False(t, cfg.EnableHA)
	assert.Equal(t, "$$app-$HOME-", cfg.ApplicationName)
	assert.Equal(t, []string{"r1", "r2:5433"}, cfg.ReplicaHosts)

	// Unset without a default: the field and the variable are named.
	_, err = ParseConfig(section("password: ${UNIFIEDDB_TEST_UNSET_PW}", "port: ${UNIFIEDDB_TEST_UNSET_PORT}"))
	ce = requireConfigError(t, err)
	assert.Equal(t, []FieldError{
		{Field: "password", Problem: "environment variable UNIFIEDDB_TEST_UNSET_PW is not set"},
		{Field: "port", Problem: "environment variable UNIFIEDDB_TEST_UNSET_PORT is not set"},
	}, ce.Fields)

	// A value from the environment that does not convert is not shown.
	t.Setenv("UNIFIEDDB_TEST_PORT", "not-a-port")
	_, err = ParseConfig(section("port: ${UNIFIEDDB_TEST_PORT}"))
	ce = requireConfigError(t, err)
	require.True(t, ce.Has("port"))
	assert.NotContains(t, err.Error(), "not-a-port")
	assert.Contains(t, err.Error(), "${UNIFIEDDB_TEST_PORT}")
}

func TestParseConfigDurations(t *testing.T) {
	cases := map[string]time.Duration{
		"30":           30 * time.Second,
		"5.0":          5 * time.Second,
		"0.5":          500 * time.Millisecond,
		"0.1":          100 * time.Millisecond,
		".25":          250 * time.Millisecond,
		"1e2":          100 * time.Second,
		"+2":           2 * time.Second,
		"0.000000001":  time.Nanosecond,
		"0.0000000015": 2 * time.Nanosecond,
		`"30s"`:        30 * time.Second,
		"1m30s":        90 * time.Second,
		"250ms":        250 * time.Millisecond,
		`"45"`:         45 * time.Second,
		"1h":           time.Hour,
		"1_000":        1000 * time.Second,
	}
	for in, want := range cases {
		cfg, err := ParseConfig(section("pool_timeout: " + in))
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, cfg.PoolTimeout, in)
		}
	}
	for _, in := range []string{"soon", "30 s", ".inf", "1e300", "9223372037", "Infinity", `""`, "true", "1__0"} {
		_, err := ParseConfig(section("pool_timeout: " + in))
		require.Error(t, err, in)
		ce := requireConfigError(t, err)
		assert.True(t, ce.Has("pool_timeout"), in)
	}
}

func TestParseConfigReplicaHosts(t *testing.T) {
	for in, want := range map[string][]string{
		`[r1, "r2:5433", "[::1]:5434", "[fe80::1]"]`: {"r1", "r2:5433", "[::1]:5434", "[fe80::1]"},
		`"r1,r2:5433"`:       {"r1", "r2:5433"},
		`" r1 , r2 "`:        {"r1", "r2"},
		`r1`:                 {"r1"},
		`[]`:                 nil,
		`""`:                 nil,
		`~`:                  nil,
		"\n    - a\n    - b": {"a", "b"},
	} {
		cfg, err := ParseConfig(section("replica_hosts: " + in))
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, cfg.ReplicaHosts, in)
		}
	}
}

func TestParseConfigUnknownKeys(t *testing.T) {
	cfg, err := ParseConfig(section("poolsize: 5", "Host-Name: x", "zzz_totally_new: 1", "sync_pool_size: 3", "unknown_keys: warn"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		`unknown key "poolsize" ignored (did you mean "pool_size"?)`,
		`unknown key "Host-Name" ignored`,
		`unknown key "zzz_totally_new" ignored`,
		`unknown key "sync_pool_size" ignored (a legacy key: use "pool_size", or run "unifieddb config migrate")`,
	}, cfg.Warnings)
	assert.Equal(t, 10, cfg.PoolSize)

	// strict_mode is read before the unknown keys are judged, wherever it is.
	_, err = ParseConfig([]byte("database:\n  poolsize: 5\n  host: h\n  database: d\n  strict_mode: true\n"))
	ce := requireConfigError(t, err)
	assert.Equal(t, []FieldError{{Field: "poolsize", Problem: `unknown key "poolsize" (did you mean "pool_size"?) (strict_mode)`}}, ce.Fields)

	// Other top-level sections are not ours.
	cfg, err = ParseConfig(append(section(), "logging:\n  level: debug\n"...))
	require.NoError(t, err)
	assert.Empty(t, cfg.Warnings)
	// A legacy section next to database is the legacy layout: its settings
	// (replicas, pools) would be ignored, so it is an error pointing at the
	// migration, not a warning.
	_, err = ParseConfig(append(section(), "logging:\n  level: debug\nha_database:\n  replica_hosts: [x]\nsession_management:\n  autoflush: true\n"...))
	ce = requireConfigError(t, err)
	assert.Equal(t, []string{"ha_database", "session_management"}, configFieldNames(ce))
	assert.Contains(t, ce.Fields[0].Problem, "legacy layout")
	assert.Contains(t, ce.Fields[0].Problem, `run "unifieddb config migrate"`)

	_, err = ParseConfig([]byte("database:\n  sync_pool_size: 5\nha_database:\n  primary_host: x\n"))
	require.Error(t, err)
	_, err = ParseConfig([]byte("connection_pools:\n  mcp_pool_size: 5\n"))
	assert.ErrorContains(t, err, "legacy configuration")
}

func TestParseConfigAnchorsAndMerge(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
defaults: &defaults
  pool_size: 7
  port: 6000
database:
  <<: *defaults
  host: h
  database: d
  port: 6001
`))
	require.NoError(t, err)
	assert.Equal(t, 7, cfg.PoolSize)
	assert.Equal(t, 6001, cfg.Port)
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	_, err := LoadConfig(missing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), missing)
	assert.True(t, errors.Is(err, os.ErrNotExist))

	path := filepath.Join(dir, "database.yaml")
	require.NoError(t, os.WriteFile(path, section("pool_size: 3"), 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, 3, cfg.PoolSize)

	require.NoError(t, os.WriteFile(path, section("pool_size: 0"), 0o600))
	_, err = LoadConfig(path)
	ce := requireConfigError(t, err)
	assert.True(t, ce.Has("pool_size"))
	assert.Contains(t, err.Error(), path)
}

func TestConfigStringHidesPassword(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Database = "app"
	cfg.Password = testSecret
	cfg.ReplicaHosts = []string{"r1", "r2:5433"}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v %+v %s %#v", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%+v", &cfg), fmt.Sprintf("%v", struct{ C Config }{cfg}), cfg.LogValue().String()} {
		assert.NotContains(t, s, "hunter2")
		assert.Contains(t, s, "***")
	}
	assert.NotContains(t, cfg.String(), "\n")
	assert.Contains(t, cfg.String(), "host=localhost port=5432 database=app")

	red := cfg.Redacted()
	assert.Equal(t, "***", red.Password)
	assert.Equal(t, testSecret, cfg.Password, "the original is unchanged")
	red.ReplicaHosts[0] = "changed"
	assert.Equal(t, "r1", cfg.ReplicaHosts[0], "the copy does not share slices")

	cfg.Password = ""
	assert.Equal(t, "", cfg.Redacted().Password)
	assert.Contains(t, cfg.String(), `password="" `)
}

func FuzzParseConfig(f *testing.F) {
	seeds := []string{
		"",
		"database:\n",
		string(section()),
		string(section("replica_hosts: [a, 'b:5433', '[::1]:1']", "pool_timeout: 1m", "strict_mode: true", "x: 1")),
		"database: {host: ${H:-h}, database: ${D}, port: ${P:-x}}\n",
		"database:\n  <<: [*a]\n",
		"a: &a {pool_size: 1}\ndatabase:\n  <<: *a\n  host: h\n  database: d\n",
		"database:\n  password: *x\n",
		"- 1\n- 2\n",
		"database:\n  replica_hosts: '::1,,[x]:'\n  pool_timeout: 1e300\n",
		"database:\n  pool_timeout: -9223372036.854775808\n  pool_recycle: 9223372036.854775807\n",
		"database:\n  ? [a]\n  : b\n",
		"database:\n  host: h\n  database: d\n  clusters:\n    ev:\n      host: e\n      tables: [t, s.u]\n    an: {discovery: dns, discovery_dns_name: x}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, name := range []string{"legacy_full.yaml", "unified.yaml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || len(ce.Fields) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty *ConfigError", err, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig returned a config that does not validate: %v", err)
		}
		out, err := cfg.MarshalYAML()
		if err != nil {
			t.Fatalf("MarshalYAML: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out)
		}
		cfg.Warnings = nil
		if len(cfg.ReplicaHosts) == 0 {
			cfg.ReplicaHosts = nil
		}
		assert.Equal(t, cfg, again)
	})
}

func TestParseConfigCommentIsNotASecret(t *testing.T) {
	// The README's own example: a comment on the password line mentions the
	// variable; only the password's value is secret, not the words around it.
	_, err := ParseConfig([]byte(`
database:
  host: db.internal
  database: app
  password: ${UNIFIEDDB_TEST_UNSET_PW}         # ${VAR}: an error naming ` + "`password`" + ` if UNIFIEDDB_TEST_UNSET_PW is unset
  port: ${UNIFIEDDB_TEST_UNSET_PORT}
`))
	ce := requireConfigError(t, err)
	assert.Equal(t, []FieldError{
		{Field: "password", Problem: "environment variable UNIFIEDDB_TEST_UNSET_PW is not set"},
		{Field: "port", Problem: "environment variable UNIFIEDDB_TEST_UNSET_PORT is not set"},
	}, ce.Fields)

	// A literal password followed by a comment: the value is hidden, the
	// comment's words are not treated as secrets.
	_, err = ParseConfig([]byte("database:\n  database: app\n  password: hunter2-SECRET # unset error port\n  port: nope\n"))
	ce = requireConfigError(t, err)
	assert.Equal(t, []FieldError{{Field: "port", Problem: `must be an integer, got "nope"`}}, ce.Fields)

	// Quoted values keep a " #" inside the quotes as part of the secret.
	_, err = ParseConfig([]byte("database:\n  database: app\n  password: \"hunter2 #SECRET\" # comment\n  port: 'hunter2 #SECRET'\n"))
	ce = requireConfigError(t, err)
	assert.NotContains(t, err.Error(), "#SECRET")
	assert.True(t, ce.Has("port"))
}

func TestLoadConfigNamesTheFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := LoadConfig(path)
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Equal(t, 1, strings.Count(err.Error(), path), err.Error())
}

func TestParseConfigYAMLSyntaxErrorIsNoKeys(t *testing.T) {
	// A syntax error is not a problem of the database key (which may be
	// perfectly fine): it is reported with no key.
	_, err := ParseConfig([]byte("database:\n  host: db.internal\n  port: [5432\n"))
	ce := requireConfigError(t, err)
	require.Len(t, ce.Fields, 1)
	assert.Equal(t, "", ce.Fields[0].Field)
	assert.False(t, ce.Has("database"))
	assert.True(t, strings.HasPrefix(err.Error(), "unifieddb: invalid configuration: invalid YAML: line "), err.Error())
}
