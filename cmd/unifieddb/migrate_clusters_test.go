package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
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
