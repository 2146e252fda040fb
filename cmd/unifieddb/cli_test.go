package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

const legacyPassword = "Legacy-Pw-7f3a91"

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func legacyConfig(password string) string {
	return `database:
  host: db.internal
  port: 5432
  database: app
  username: app_user
  password: "` + password + `"
  sync_pool_size: 10
ha_database:
  primary_host: db.internal
  replica_hosts: [replica1.internal, "replica2.internal:5433"]
  failover_timeout: 30
connection_pools:
  mcp_pool_size: 20
  ml_pool_size: 5
  admin_pool_size: 2
  max_overflow: 10
session_management:
  autoflush: true
`
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestConfigMigrate(t *testing.T) {
	dir := t.TempDir()
	old := writeFile(t, filepath.Join(dir, "old.yaml"), legacyConfig(legacyPassword))
	oldBytes, _ := os.ReadFile(old)
	newPath := filepath.Join(dir, "new.yaml")

	code, stdout, stderr := runCmd(t, "config", "migrate", old, newPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "wrote "+newPath)
	assert.Contains(t, stdout, "connection_pools.mcp_pool_size -> pool_size")
	assert.Contains(t, stdout, "session_management.autoflush:")
	cfg, err := datalayer.LoadConfig(newPath)
	require.NoError(t, err, "the output is a valid configuration")
	assert.Equal(t, legacyPassword, cfg.Password, "the file itself keeps the password")
	assert.Equal(t, 20, cfg.PoolSize)
	assert.Len(t, cfg.ReplicaHosts, 2)
	code, _, _ = runCmd(t, "config", "validate", newPath)
	assert.Equal(t, exitOK, code)
	written, _ := os.ReadFile(newPath)

	// An existing NEW is refused without --force, and left alone.
	code, stdout, stderr = runCmd(t, "config", "migrate", old, newPath)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "exists; use --force")
	assert.Empty(t, stdout)
	now, _ := os.ReadFile(newPath)
	assert.Equal(t, written, now)
	// Flags may come after the arguments.
	require.NoError(t, os.WriteFile(newPath, []byte("junk\n"), 0o600))
	code, _, stderr = runCmd(t, "config", "migrate", old, newPath, "--force")
	assert.Equal(t, exitOK, code, stderr)
	now, _ = os.ReadFile(newPath)
	assert.Equal(t, written, now)

	// --dry-run writes nothing and prints the result, password redacted.
	dry := filepath.Join(dir, "dry.yaml")
	code, stdout, stderr = runCmd(t, "config", "migrate", "--dry-run", old, dry)
	assert.Equal(t, exitOK, code, stderr)
	assert.NoFileExists(t, dry)
	assert.Contains(t, stdout, "database:\n")
	assert.Contains(t, stdout, "pool_size: 20")
	assert.Contains(t, stdout, `password: "***"`)
	assert.Contains(t, stdout, "# dry run: "+dry+" not written")
	assert.Contains(t, stdout, "# carried (")
	assert.NotContains(t, stdout+stderr, legacyPassword)

	// NEW = OLD is refused even with --force; OLD is never modified.
	code, _, stderr = runCmd(t, "config", "migrate", "--force", old, old)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "OLD is never modified")
	now, _ = os.ReadFile(old)
	assert.Equal(t, oldBytes, now)

	// An already unified OLD: said so, nothing written.
	unifiedNew := filepath.Join(dir, "from-unified.yaml")
	code, stdout, _ = runCmd(t, "config", "migrate", newPath, unifiedNew)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "already in the unified layout")
	assert.NoFileExists(t, unifiedNew)

	before := dirEntries(t, dir)
	// Bad input: a clear message, exit 1, no file (and no temporary file).
	for name, content := range map[string]string{
		"bad yaml":  "database: [unclosed\n",
		"bad port":  strings.Replace(legacyConfig(legacyPassword), "port: 5432", "port: many", 1),
		"empty":     "",
		"not a map": "- a\n- b\n",
	} {
		bad := writeFile(t, filepath.Join(t.TempDir(), "bad.yaml"), content)
		out := filepath.Join(dir, "bad-out.yaml")
		code, stdout, stderr := runCmd(t, "config", "migrate", bad, out)
		assert.Equal(t, exitFail, code, name)
		assert.Contains(t, stderr, "unifieddb config migrate: "+bad, name)
		assert.NoFileExists(t, out, name)
		assert.NotContains(t, stdout+stderr, legacyPassword, name)
	}
	_, _, stderr = runCmd(t, "config", "migrate", strings.Replace(old, "old", "missing", 1), filepath.Join(dir, "x.yaml"))
	assert.Contains(t, stderr, "no such file")
	_, _, stderr = runCmd(t, "config", "migrate", writeFile(t, filepath.Join(t.TempDir(), "p.yaml"),
		strings.Replace(legacyConfig(legacyPassword), "port: 5432", "port: many", 1)), filepath.Join(dir, "y.yaml"))
	assert.Contains(t, stderr, "port")
	assert.Equal(t, before, dirEntries(t, dir), "no file left behind")

	// Usage errors.
	for _, args := range [][]string{
		{"config", "migrate"},
		{"config", "migrate", old},
		{"config", "migrate", old, newPath, "third"},
		{"config", "migrate", "--frobnicate", old, newPath},
		{"config"},
		{"config", "frobnicate"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, stdout, "%v", args)
		assert.Contains(t, stderr, "Usage: unifieddb config", "%v", args)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.yaml"), "database:\n  host: db.internal\n  database: app\n  password: \""+legacyPassword+"\"\n  pool_size: 3\n")
	code, stdout, stderr := runCmd(t, "config", "validate", good)
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, good+": valid\n", stdout)

	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "database:\n  host: db.internal\n  password: \""+legacyPassword+"\"\n  port: 0\n  pool_size: -1\n  replica_hosts: [\"a:b:c\"]\n")
	code, stdout, stderr = runCmd(t, "config", "validate", bad)
	assert.Equal(t, exitFail, code)
	for _, field := range []string{"  port: ", "  pool_size: ", "  database: ", "  replica_hosts[0]: "} {
		assert.Contains(t, stdout, field)
	}
	assert.Contains(t, stdout, "invalid, 4 problem(s)")
	assert.NotContains(t, stdout+stderr, legacyPassword)

	code, stdout, _ = runCmd(t, "config", "validate", "--json", bad)
	assert.Equal(t, exitFail, code)
	var v struct {
		Valid    bool
		Problems []struct{ Field, Problem string }
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &v), stdout)
	assert.False(t, v.Valid)
	assert.Len(t, v.Problems, 4)

	code, _, stderr = runCmd(t, "config", "validate", filepath.Join(dir, "missing.yaml"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "no such file")
	code, _, _ = runCmd(t, "config", "validate")
	assert.Equal(t, exitUsage, code)
}

func TestConfigShow(t *testing.T) {
	t.Setenv("UDB_TEST_HOST", "from-env.internal")
	path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"),
		"database:\n  host: ${UDB_TEST_HOST}\n  database: app\n  password: \""+legacyPassword+"\"\n  extra_key: 1\n  unknown_keys: warn\n")
	code, stdout, stderr := runCmd(t, "config", "show", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "host: from-env.internal")
	assert.Contains(t, stdout, "pool_size: 10", "defaults filled in")
	assert.Contains(t, stdout, "password: '***'")
	assert.Contains(t, stderr, "extra_key")
	assert.NotContains(t, stdout+stderr, legacyPassword)

	code, _, stderr = runCmd(t, "config", "show", writeFile(t, filepath.Join(t.TempDir(), "b.yaml"), "database:\n  port: x\n"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "port")
}

// config validate and show know the clusters: every bad key of a cluster
// named with its path, each cluster shown with its effective keys, no
// cluster's password anywhere.
func TestConfigClusters(t *testing.T) {
	const evPassword = "events-Pw-secret"
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.yaml"), "database:\n  host: db.internal\n  database: app\n  password: \""+legacyPassword+"\"\n"+
		"  pool_size: 3\n  clusters:\n    events:\n      host: ev1.internal\n      password: \""+evPassword+"\"\n      tables: [events]\n")
	code, stdout, stderr := runCmd(t, "config", "validate", good)
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, good+": valid\n", stdout)

	code, stdout, stderr = runCmd(t, "config", "show", good)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "\n  clusters:\n    events:\n      host: ev1.internal\n      port: 5432\n")
	assert.Contains(t, stdout, "\n      pool_size: 3\n", "inherited")
	assert.Contains(t, stdout, "\n      tables:\n        - events\n")
	assert.NotContains(t, stdout+stderr, evPassword)
	assert.NotContains(t, stdout+stderr, legacyPassword)

	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "database:\n  host: db.internal\n  database: app\n  clusters:\n"+
		"    events:\n      password: \""+evPassword+"\"\n      pool_size: 0\n      port: \""+evPassword+"\"\n      tables: [events]\n"+
		"    audit:\n      host: au1\n      tables: [events]\n      replica_host: [au2]\n")
	code, stdout, stderr = runCmd(t, "config", "validate", bad)
	assert.Equal(t, exitFail, code)
	for _, field := range []string{"  clusters.events.host: ", "  clusters.events.pool_size: ", "  clusters.events.port: ",
		"  clusters.events.tables[0]: ", "  database.clusters.audit.replica_host: "} {
		assert.Contains(t, stdout, field)
	}
	assert.Contains(t, stdout, "placed on two clusters, audit and events")
	assert.NotContains(t, stdout+stderr, evPassword)
}

func TestLiveCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"health"}, {"info"}, {"doctor"}, {"migrate", "up"},
		{"health", "--config", "x.yaml", "extra"},
		{"migrate", "--config", "x.yaml"},
		{"migrate", "sideways", "--config", "x.yaml"},
		{"migrate", "up", "down", "--config", "x.yaml"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, stdout, "%v", args)
		assert.Contains(t, stderr, "Usage: unifieddb "+args[0], "%v", args)
	}
	for _, sub := range configCommands {
		code, stdout, _ := runCmd(t, "config", sub.name, "--help")
		assert.Equal(t, exitOK, code, sub.name)
		assert.Contains(t, stdout, "Usage: unifieddb config "+sub.name)
	}
	code, _, stderr := runCmd(t, "health", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "missing.yaml")
}

// liveConfig writes the unified configuration of c, password included.
func liveConfig(t *testing.T, c *pgcluster.Cluster, mutate func(*datalayer.Config)) string {
	t.Helper()
	cfg := testenv.Config(c)
	cfg.FailoverTimeout = 2 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	data, err := cfg.MarshalYAML()
	require.NoError(t, err)
	return writeFile(t, filepath.Join(t.TempDir(), "database.yaml"), string(data))
}

// TestLiveCommands runs every command against one local cluster; each output
// is checked for the cluster's password.
func TestLiveCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.DefaultOptions())
	require.NoError(t, err)
	defer c.Close()
	pw := c.Password()
	require.GreaterOrEqual(t, len(pw), 8)
	migrationsDir, err := filepath.Abs(filepath.Join("testdata", "migrations"))
	require.NoError(t, err)
	cfgPath := liveConfig(t, c, func(cfg *datalayer.Config) { cfg.MigrationsDir = migrationsDir })

	var ran []string
	runLive := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		code, stdout, stderr := runCmd(t, args...)
		ran = append(ran, args[0]+" "+args[1])
		assert.NotContains(t, stdout, pw, "stdout of %v", args)
		assert.NotContains(t, stderr, pw, "stderr of %v", args)
		return code, stdout, stderr
	}

	t.Run("health", func(t *testing.T) {
		code, stdout, stderr := runLive(t, "health", "--config", cfgPath)
		assert.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "status: healthy")
		assert.Contains(t, stdout, "NODE")
		assert.Contains(t, stdout, "nodes from: static: 3 node(s) from host and replica_hosts")
		assert.Contains(t, stdout, c.Node("primary").Addr())
		code, stdout, stderr = runLive(t, "health", "--json", "--config", cfgPath)
		require.Equal(t, exitOK, code, stderr)
		var rep datalayer.HealthReport
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
		assert.Equal(t, "healthy", rep.Status)
		assert.Len(t, rep.Nodes, 3)
	})

	t.Run("info", func(t *testing.T) {
		code, stdout, stderr := runLive(t, "info", "--config", cfgPath)
		t.Log("\n" + stdout)
		assert.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "pool utilization")
		assert.Contains(t, stdout, "transactional")
		code, stdout, stderr = runLive(t, "info", "--json", "--config", cfgPath)
		require.Equal(t, exitOK, code, stderr)
		var ci datalayer.ConnectionInfo
		require.NoError(t, json.Unmarshal([]byte(stdout), &ci), stdout)
		assert.Equal(t, int64(len(infoModes)), ci.QueriesTotal, "one check statement per mode")
		assert.Equal(t, int64(1), ci.Modes["batch"].Queries)
		assert.Len(t, ci.Nodes, 3)
		code, stdout, _ = runLive(t, "info", "--json", "--no-check", "--config", cfgPath)
		require.Equal(t, exitOK, code)
		require.NoError(t, json.Unmarshal([]byte(stdout), &ci))
		assert.Zero(t, ci.QueriesTotal)
	})

	t.Run("migrate", func(t *testing.T) {
		code, stdout, stderr := runLive(t, "migrate", "status", "--config", cfgPath)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "00001_notes.sql")
		assert.Regexp(t, `3 migration\(s\), 3 pending`, stdout)

		code, stdout, stderr = runLive(t, "doctor", "--config", cfgPath)
		assert.Equal(t, exitOK, code, "warnings only: %s%s", stdout, stderr)
		assert.Regexp(t, `(?m)^ok    tables +no registered model`, stdout)
		assert.Regexp(t, `(?m)^warn  migrations +3 of 3 pending`, stdout)

		code, stdout, stderr = runLive(t, "migrate", "up", "--config", cfgPath)
		require.Equal(t, exitOK, code, stderr)
		assert.NotContains(t, stdout, "AutoMigrate:", "the tool registers no model")
		assert.Contains(t, stdout, "applied 00003_backfill.sql")
		code, stdout, _ = runLive(t, "migrate", "up", "--config", cfgPath)
		require.Equal(t, exitOK, code)
		assert.Contains(t, stdout, "nothing to apply")
		code, stdout, _ = runLive(t, "migrate", "status", "--config", cfgPath)
		require.Equal(t, exitOK, code)
		assert.Contains(t, stdout, "3 migration(s), 0 pending")

		code, stdout, stderr = runLive(t, "migrate", "down", "--config", cfgPath)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "rolled back 00003_backfill.sql")
		code, stdout, _ = runLive(t, "migrate", "status", "--json", "--config", cfgPath)
		require.Equal(t, exitOK, code)
		var st []struct {
			Source  string `json:"source"`
			Applied bool   `json:"applied"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &st), stdout)
		require.Len(t, st, 3)
		assert.True(t, st[1].Applied)
		assert.False(t, st[2].Applied)
		code, _, stderr = runLive(t, "migrate", "up", "--json", "--config", cfgPath)
		require.Equal(t, exitOK, code, stderr)
	})

	// Without migrations_dir there is no SQL migration: the tool ships none.
	t.Run("migrate without migrations_dir", func(t *testing.T) {
		bare := liveConfig(t, c, nil)
		code, stdout, stderr := runLive(t, "migrate", "status", "--config", bare)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "no SQL migrations: set migrations_dir")
		code, stdout, _ = runLive(t, "migrate", "status", "--json", "--config", bare)
		require.Equal(t, exitOK, code)
		assert.Equal(t, "[]", strings.TrimSpace(stdout))
		code, stdout, stderr = runLive(t, "migrate", "up", "--config", bare)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "no SQL migrations: set migrations_dir")
		assert.NotContains(t, stdout, "applied")
		code, _, stderr = runLive(t, "migrate", "down", "--config", bare)
		assert.Equal(t, exitFail, code)
		assert.Contains(t, stderr, "nothing to roll back: no SQL migrations")
		code, stdout, _ = runLive(t, "doctor", "--config", bare)
		assert.Regexp(t, `(?m)^ok    migrations +none to check: migrations_dir is not set`, stdout)

		missing := liveConfig(t, c, func(cfg *datalayer.Config) { cfg.MigrationsDir = filepath.Join(t.TempDir(), "nope") })
		code, _, stderr = runLive(t, "migrate", "status", "--config", missing)
		assert.Equal(t, exitFail, code)
		assert.Contains(t, stderr, "migrations_dir")
	})

	t.Run("doctor healthy", func(t *testing.T) {
		code, stdout, stderr := runLive(t, "doctor", "--config", cfgPath)
		t.Log("\n" + stdout)
		assert.Equal(t, exitOK, code, "%s%s", stdout, stderr)
		assert.NotRegexp(t, `(?m)^fail`, stdout)
		assert.Regexp(t, `(?m)^ok    roles +one primary \(`+c.Node("primary").Addr()+`\)`, stdout)
		assert.Regexp(t, `(?m)^ok    node `+c.Node("replica2").Addr(), stdout)
		assert.Regexp(t, `(?m)^ok    lag `+c.Node("replica1").Addr(), stdout)
		assert.Regexp(t, `(?m)^ok    tables `, stdout)
		assert.Regexp(t, `(?m)^ok    migrations +all 3 applied`, stdout)
		assert.Regexp(t, `(?m)^ok    registry `, stdout)
		assert.Regexp(t, `(?m)^ok    discovery +static: 3 node\(s\) from host and replica_hosts`, stdout)
		// 200 max_connections, 3 reserved, 51 per instance: 3 fit.
		assert.Regexp(t, `(?m)^warn  connections +one instance needs up to 51 per node .* 3 instance\(s\) fit: 4 instances would need 204`, stdout)
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			assert.Regexp(t, `^(ok  |warn|fail)  \S`, line)
		}
		code, stdout, _ = runLive(t, "doctor", "--json", "--config", cfgPath)
		assert.Equal(t, exitOK, code)
		var findings []finding
		require.NoError(t, json.Unmarshal([]byte(stdout), &findings), stdout)
		assert.NotEmpty(t, findings)
		// Smaller pools: 4 instances fit.
		small := liveConfig(t, c, func(cfg *datalayer.Config) { cfg.PoolSize, cfg.MaxOverflow = 5, 5 })
		_, stdout, _ = runLive(t, "doctor", "--config", small)
		assert.Regexp(t, `(?m)^ok    connections +one instance needs up to 31 per node .* 6 instance\(s\) fit`, stdout)
	})

	t.Run("config", func(t *testing.T) {
		for _, args := range [][]string{{"config", "validate", cfgPath}, {"config", "validate", "--json", cfgPath}, {"config", "show", cfgPath}} {
			code, _, stderr := runLive(t, args...)
			assert.Equal(t, exitOK, code, "%v: %s", args, stderr)
		}
		legacy := writeFile(t, filepath.Join(t.TempDir(), "legacy.yaml"), legacyConfig(pw))
		code, _, stderr := runLive(t, "config", "migrate", "--dry-run", legacy, filepath.Join(t.TempDir(), "n.yaml"))
		assert.Equal(t, exitOK, code, stderr)
		code, _, stderr = runLive(t, "config", "migrate", legacy, filepath.Join(t.TempDir(), "n.yaml"))
		assert.Equal(t, exitOK, code, stderr)
		bad := writeFile(t, filepath.Join(t.TempDir(), "bad.yaml"), "database:\n  password: \""+pw+"\"\n  port: "+pw+"\n")
		for _, args := range [][]string{{"config", "validate", bad}, {"config", "show", bad}, {"health", "--config", bad}} {
			code, _, _ := runLive(t, args...)
			assert.Equal(t, exitFail, code, "%v", args)
		}
		code, _, _ = runLive(t, "config", "migrate", bad, filepath.Join(t.TempDir(), "m.yaml"))
		assert.Equal(t, exitOK, code, "already unified: nothing to do")
	})

	t.Run("wrong database", func(t *testing.T) {
		// Connection errors everywhere; none may carry the password.
		wrong := liveConfig(t, c, func(cfg *datalayer.Config) { cfg.Database = "no_such_db"; cfg.ConnectionTimeout = time.Second })
		for _, cmd := range []string{"health", "info", "doctor"} {
			code, stdout, _ := runLive(t, cmd, "--config", wrong)
			assert.Equal(t, exitFail, code, "%s: %s", cmd, stdout)
		}
		code, _, _ := runLive(t, "migrate", "up", "--config", wrong, "--timeout", "5s")
		assert.Equal(t, exitFail, code)
	})

	t.Run("doctor broken", func(t *testing.T) {
		r2 := c.Node("replica2")
		require.NoError(t, r2.Stop(ctx))
		code, stdout, stderr := runLive(t, "doctor", "--config", cfgPath)
		t.Log("\n" + stdout)
		assert.Equal(t, exitFail, code, "%s%s", stdout, stderr)
		assert.Regexp(t, `(?m)^fail  node `+r2.Addr()+` +unreachable: \S`, stdout)
		assert.Regexp(t, `(?m)^ok    roles `, stdout)
		code, stdout, _ = runLive(t, "health", "--config", cfgPath)
		assert.Equal(t, exitOK, code, "degraded is not a failure")
		t.Log("\n" + stdout)
		assert.Contains(t, stdout, "status: degraded")
		assert.Contains(t, stdout, fmt.Sprintf("node %s is down", r2.Addr()))
	})

	// Every command ran against the cluster at least once.
	seen := map[string]bool{}
	for _, r := range ran {
		seen[strings.Fields(r)[0]] = true
	}
	for _, cmd := range commands {
		if cmd.name == "demo" || cmd.name == "dev" || cmd.name == "version" {
			continue // demo and dev have their own password tests; version prints no configuration
		}
		assert.True(t, seen[cmd.name], "%s ran", cmd.name)
	}
}

func TestConfigValidateLegacyLayout(t *testing.T) {
	// A legacy file has a database section that parses, but its
	// ha_database and connection_pools sections would be ignored: not valid.
	old := writeFile(t, filepath.Join(t.TempDir(), "old.yaml"), legacyConfig(legacyPassword))
	code, stdout, stderr := runCmd(t, "config", "validate", old)
	assert.Equal(t, exitFail, code, stdout+stderr)
	assert.NotContains(t, stdout, ": valid")
	assert.Contains(t, stdout, "legacy layout")
	assert.Contains(t, stdout, "unifieddb config migrate")
	assert.NotContains(t, stdout+stderr, legacyPassword)
}

func TestConfigCommandsStopWhenCanceled(t *testing.T) {
	// Ctrl-C and SIGTERM cancel run's context (main uses
	// signal.NotifyContext): the config commands stop instead of finishing
	// their parse.
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.yaml"), "database:\n  host: db.internal\n  database: app\n")
	old := writeFile(t, filepath.Join(dir, "old.yaml"), legacyConfig(legacyPassword))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"config", "validate", good},
		{"config", "show", good},
		{"config", "migrate", old, filepath.Join(dir, "new.yaml")},
	} {
		var out, errb strings.Builder
		code := run(ctx, args, &out, &errb)
		assert.Equal(t, exitFail, code, "%v", args)
		assert.Contains(t, errb.String(), "interrupted", "%v", args)
		assert.NoFileExists(t, filepath.Join(dir, "new.yaml"))
	}
}

func TestConfigValidateTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	big := "database:\n  host: h\n  database: d\n  # " + strings.Repeat("x", datalayer.MaxConfigSize) + "\n"
	writeFile(t, path, big)
	code, stdout, stderr := runCmd(t, "config", "validate", path)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stdout+stderr, "larger than 1 MiB")
}

func TestFileNamePrintedOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "database:\n  port: x\n")
	for _, tc := range []struct {
		args []string
		path string
	}{
		{[]string{"config", "validate", missing}, missing},
		{[]string{"config", "validate", "--json", missing}, missing},
		{[]string{"config", "show", missing}, missing},
		{[]string{"config", "migrate", missing, filepath.Join(dir, "new.yaml")}, missing},
		{[]string{"health", "--config", missing}, missing},
		{[]string{"config", "show", bad}, bad},
		{[]string{"config", "validate", bad}, bad},
		{[]string{"config", "migrate", bad, filepath.Join(dir, "new.yaml")}, bad},
	} {
		code, stdout, stderr := runCmd(t, tc.args...)
		out := stdout + stderr
		if tc.path == missing {
			assert.Equal(t, exitFail, code, "%v", tc.args)
			assert.Contains(t, out, "no such file", "%v", tc.args)
		}
		assert.Equal(t, 1, strings.Count(out, tc.path), "%v: %s", tc.args, out)
	}
}

func TestConfigValidateYAMLSyntaxError(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), "database:\n  host: db.internal\n  port: [5432\n")
	code, stdout, _ := runCmd(t, "config", "validate", path)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stdout, "\n  invalid YAML: line ")
	assert.NotContains(t, stdout, "database:")
}
