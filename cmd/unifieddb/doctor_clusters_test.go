package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// TestDoctorChecksEachCluster: with a named cluster "events" (its own
// server, max_connections 30, 3 superuser-reserved, small pools: 9 per
// node), doctor checks its nodes and its connection budget on its own
// primary, health and info show its section; once its primary is down,
// doctor fails naming it while the default cluster's checks stay ok.
func TestDoctorChecksEachCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	require.NoError(t, err)
	defer c.Close()
	ec, err := pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{
		"max_connections": "30", "superuser_reserved_connections": "3"}})
	require.NoError(t, err)
	defer ec.Close()
	cfgPath := liveConfig(t, c, func(cfg *datalayer.Config) {
		testenv.AddCluster(cfg, "events", ec, "")
		ev := cfg.Clusters["events"]
		ev.PoolSize, ev.MaxOverflow, ev.BatchPoolSize, ev.TransactionalPoolSize = 2, 1, 1, 1
		cfg.Clusters["events"] = ev
	})
	evAddr := ec.Nodes()[0].Addr()

	code, stdout, stderr := runCmd(t, "doctor", "--config", cfgPath, "--wait", "20s")
	t.Log("\n" + stdout)
	assert.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.Regexp(t, `(?m)^ok    node `+c.Nodes()[0].Addr()+` +primary`, stdout)
	assert.Regexp(t, `(?m)^ok    cluster events: node `+evAddr+` +primary`, stdout)
	assert.Regexp(t, `(?m)^ok    cluster events: roles +one primary \(`+evAddr+`\)`, stdout)
	assert.Regexp(t, `(?m)^warn  cluster events: connections +one instance needs up to 9 per node .* max_connections 30, 27 usable .* 3 instance\(s\) fit`, stdout)
	assert.NotContains(t, stdout, ec.Password())

	code, stdout, _ = runCmd(t, "health", "--config", cfgPath, "--json")
	assert.Equal(t, exitOK, code)
	var rep datalayer.HealthReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Equal(t, evAddr, rep.Clusters["events"].Primary)
	assert.Equal(t, 9, rep.Clusters["events"].ConnectionBudget.PerNode)
	assert.Equal(t, c.Nodes()[0].Addr(), rep.Primary)

	code, stdout, _ = runCmd(t, "info", "--config", cfgPath)
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `(?m)^cluster events$`, stdout)
	assert.Contains(t, stdout, evAddr)

	require.NoError(t, ec.Nodes()[0].Kill())
	code, stdout, _ = runCmd(t, "doctor", "--config", cfgPath, "--wait", "0s")
	t.Log("\n" + stdout)
	assert.Equal(t, exitFail, code)
	assert.Regexp(t, `(?m)^fail  cluster events: node `+evAddr+` +unreachable`, stdout)
	assert.Regexp(t, `(?m)^fail  cluster events: connections +no primary`, stdout)
	assert.Regexp(t, `(?m)^ok    node `+c.Nodes()[0].Addr()+` +primary`, stdout)
	assert.Regexp(t, `(?m)^ok    roles `, stdout)
}
