package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/migrations"
)

// migrate's clusters: every one for up and status, the default one for
// down, --cluster's alone; an unknown name is refused naming those there are.
func TestMigrateTargets(t *testing.T) {
	one := datalayer.DefaultConfig()
	one.MigrationsDir = "/m/default"
	ts, err := migrateTargets(one, "up", "")
	require.NoError(t, err)
	assert.Equal(t, []migrateTarget{{name: "default", dir: "/m/default"}}, ts, "one cluster: no prefix, no label")

	two := one
	ev := two.ClusterBase()
	ev.MigrationsDir, ev.MigrationHost = "/m/events", "ev-direct"
	two.Clusters = map[string]datalayer.Config{"events": ev}
	ts, err = migrateTargets(two, "status", "")
	require.NoError(t, err)
	assert.Equal(t, []migrateTarget{
		{name: "default", prefix: "cluster default: ", label: "default", dir: "/m/default"},
		{name: "events", prefix: "cluster events: ", label: "events", dir: "/m/events", direct: true},
	}, ts)
	assert.True(t, needPrimary("status", ts), "the default cluster has no migration_host")

	ts, err = migrateTargets(two, "down", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"default"}, targetNames(ts))

	ts, err = migrateTargets(two, "down", "events")
	require.NoError(t, err)
	assert.Equal(t, []string{"events"}, targetNames(ts))
	assert.False(t, needPrimary("down", ts), "events has its migration_host")
	assert.True(t, needPrimary("up", ts))

	_, err = migrateTargets(two, "up", "nope")
	require.ErrorIs(t, err, datalayer.ErrUnknownCluster)
	assert.Contains(t, err.Error(), `--cluster "nope"`)
	assert.Contains(t, err.Error(), "default, events")
}

func targetNames(ts []migrateTarget) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.name)
	}
	return out
}

// up's lines: as they always were with one cluster; with several, each
// prefixed with its cluster, and a cluster without migrations says so.
func TestPrintApplied(t *testing.T) {
	ms := 3 * time.Millisecond
	var out bytes.Buffer
	printApplied(&out, []migrateTarget{{name: "default", dir: "/m"}}, []migrations.Result{{Source: "00001_a.sql", Duration: ms}}, nil)
	assert.Equal(t, "applied 00001_a.sql (3ms)\n", out.String())
	out.Reset()
	printApplied(&out, []migrateTarget{{name: "default", dir: "/m"}}, nil, nil)
	assert.Equal(t, "SQL migrations: nothing to apply\n", out.String())
	out.Reset()
	printApplied(&out, []migrateTarget{{name: "default"}}, nil, nil)
	assert.Equal(t, noMigrations+"\n", out.String())

	targets := []migrateTarget{
		{name: "default", prefix: "cluster default: ", label: "default", dir: "/m"},
		{name: "events", prefix: "cluster events: ", label: "events", dir: "/e"},
		{name: "logs", prefix: "cluster logs: ", label: "logs"},
	}
	res := []migrations.Result{{Source: "00001_a.sql", Duration: ms, Cluster: "default"}, {Source: "00001_e.sql", Duration: ms, Cluster: "events"}}
	out.Reset()
	printApplied(&out, targets, res[1:], nil)
	assert.Equal(t, "cluster default: SQL migrations: nothing to apply\n"+
		"cluster events: applied 00001_e.sql (3ms)\n"+
		"cluster logs: no SQL migrations: set clusters.logs.migrations_dir (a directory of NNNNN_name.sql files) in the configuration\n",
		out.String())
	out.Reset()
	printApplied(&out, targets, res, errors.New("boom"))
	assert.Equal(t, "cluster default: applied 00001_a.sql (3ms)\ncluster events: applied 00001_e.sql (3ms)\n", out.String(),
		"after a failure only what was applied")
}

// TestMigrateCommandClusters: with a named cluster "events" (its own
// server, its own migrations_dir), up and status work on both, --cluster on
// one, down on the default cluster unless --cluster says.
func TestMigrateCommandClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	require.NoError(t, err)
	defer c.Close()
	ec, err := pgcluster.Start(ctx, pgcluster.Options{})
	require.NoError(t, err)
	defer ec.Close()
	defDir, err := filepath.Abs(filepath.Join("testdata", "migrations"))
	require.NoError(t, err)
	evDir := t.TempDir()
	writeFile(t, filepath.Join(evDir, "00001_events.sql"), "-- +goose Up\nCREATE TABLE cli_events (id int);\n-- +goose Down\nDROP TABLE cli_events;\n")
	cfgPath := liveConfig(t, c, func(cfg *datalayer.Config) {
		cfg.MigrationsDir = defDir
		testenv.AddCluster(cfg, "events", ec, "")
		ev := cfg.Clusters["events"]
		ev.MigrationsDir = evDir
		cfg.Clusters["events"] = ev
	})
	hasTable := func(n *pgcluster.Node, table string) bool {
		v, err := n.QueryInt(ctx, "SELECT count(*)::int FROM pg_catalog.pg_class WHERE relname = $1", table)
		require.NoError(t, err)
		return v > 0
	}

	code, stdout, stderr := runCmd(t, "migrate", "up", "--cluster", "events", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `^cluster events: applied 00001_events.sql \([0-9.]+m?s\)$`, firstLine(stdout))
	assert.NotContains(t, stdout, "cluster default")
	assert.True(t, hasTable(ec.Nodes()[0], "cli_events"))
	assert.False(t, hasTable(c.Nodes()[0], "cli_events"))
	assert.False(t, hasTable(c.Nodes()[0], "cli_notes"), "--cluster events leaves the default cluster alone")

	code, stdout, _ = runCmd(t, "doctor", "--config", cfgPath)
	assert.Equal(t, exitOK, code, stdout)
	assert.Regexp(t, `(?m)^warn  migrations +3 of 3 pending`, stdout)
	assert.Regexp(t, `(?m)^ok    cluster events: migrations +all 1 applied`, stdout)

	code, stdout, stderr = runCmd(t, "migrate", "status", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `(?s)^cluster default\n.*00001_notes.sql.*3 migration\(s\), 3 pending\n\ncluster events\n.*00001_events.sql.*1 migration\(s\), 0 pending\n$`, stdout)

	code, stdout, stderr = runCmd(t, "migrate", "up", "--json", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	var up struct {
		Applied []struct{ Source, Cluster string }
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &up), stdout)
	require.Len(t, up.Applied, 3)
	assert.Equal(t, "default", up.Applied[0].Cluster)
	assert.True(t, hasTable(c.Nodes()[0], "cli_notes"))
	assert.False(t, hasTable(ec.Nodes()[0], "cli_notes"))

	code, stdout, stderr = runCmd(t, "migrate", "up", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "cluster default: SQL migrations: nothing to apply\ncluster events: SQL migrations: nothing to apply\n")

	code, stdout, stderr = runCmd(t, "migrate", "down", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "cluster default: rolled back 00003_backfill.sql")
	code, stdout, stderr = runCmd(t, "migrate", "down", "--cluster", "events", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "cluster events: rolled back 00001_events.sql")
	assert.False(t, hasTable(ec.Nodes()[0], "cli_events"))

	code, stdout, stderr = runCmd(t, "migrate", "status", "--json", "--cluster", "events", "--config", cfgPath)
	require.Equal(t, exitOK, code, stderr)
	var st []struct {
		Source, Cluster string
		Applied         bool
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &st), stdout)
	require.Len(t, st, 1)
	assert.Equal(t, "events", st[0].Cluster)
	assert.False(t, st[0].Applied)

	code, _, stderr = runCmd(t, "migrate", "status", "--cluster", "nope", "--config", cfgPath)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, `--cluster "nope"`)
	assert.Contains(t, stderr, "default, events")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
