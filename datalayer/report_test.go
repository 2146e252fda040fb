package datalayer

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/plugin"
	"github.com/prompt-improver/unifieddb/registry"
)

const reportSecret = "s3cr3t-pass-word"

// reportManager is a Manager without a cluster: enough for healthReport.
func reportManager() *Manager {
	cfg := DefaultConfig()
	cfg.Database = "app"
	cfg.Password = reportSecret
	cfg.FailoverTimeout = 5 * time.Second
	return &Manager{cfg: cfg, reg: registry.New()}
}

func reportNode(name string, role plugin.Role, healthy, inRotation bool) plugin.NodeStatus {
	host, port := "127.0.0.1", 5432
	switch name {
	case "b":
		port = 5433
	case "c":
		port = 5434
	}
	return plugin.NodeStatus{
		Name: name, Host: host, Port: port, Role: role, Answered: true, Healthy: healthy, InRotation: inRotation,
		Latency: 1500 * time.Microsecond, CheckedAt: time.Unix(1700000000, 0),
		Pools: map[string]sql.DBStats{
			"write": {MaxOpenConnections: 20, OpenConnections: 3, InUse: 1, Idle: 2, WaitCount: 4, WaitDuration: 2 * time.Millisecond},
			"read":  {MaxOpenConnections: 20, OpenConnections: 1, Idle: 1},
		},
	}
}

func fullCluster() plugin.ClusterStatus {
	return plugin.ClusterStatus{
		Primary: "a",
		Nodes: []plugin.NodeStatus{
			reportNode("a", plugin.RolePrimary, true, true),
			reportNode("b", plugin.RoleReplica, true, true),
			reportNode("c", plugin.RoleReplica, true, true),
		},
	}
}

func TestHealthReportStatus(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name    string
		mutate  func(*plugin.ClusterStatus)
		status  string
		problem string
	}{
		{"full cluster", func(*plugin.ClusterStatus) {}, StatusHealthy, ""},
		{"replica down", func(cs *plugin.ClusterStatus) {
			cs.Nodes[1].Healthy, cs.Nodes[1].InRotation, cs.Nodes[1].LastError = false, false, "dial tcp: connection refused"
		}, StatusDegraded, "node b is down: dial tcp: connection refused"},
		{"replica lagging", func(cs *plugin.ClusterStatus) {
			cs.Nodes[2].InRotation, cs.Nodes[2].Lag = false, 12*time.Second
		}, StatusDegraded, "replica c is out of rotation (replication lag 12s)"},
		{"replica not probed", func(cs *plugin.ClusterStatus) { cs.Nodes[2].Role = plugin.RoleUnknown }, StatusDegraded, "has not answered"},
		{"split brain", func(cs *plugin.ClusterStatus) {
			cs.SplitBrain, cs.Nodes[1].Role, cs.Nodes[1].InRotation = true, plugin.RolePrimary, false
		}, StatusDegraded, "split brain"},
		{"no primary yet", func(cs *plugin.ClusterStatus) {
			cs.Primary, cs.Nodes[0].Healthy, cs.Nodes[0].InRotation = "", false, false
		}, StatusDegraded, "reads only"},
		{"commits waiting on the synchronous standby", func(cs *plugin.ClusterStatus) {
			cs.Nodes[0].SyncRepWaiting, cs.Nodes[0].SyncRepLongestWait, cs.Nodes[0].SyncRepStalled = 3, 2500*time.Millisecond, true
		}, StatusDegraded, "node a: 3 commits waiting on synchronous standby (longest 2.5s)"},
		{"a commit waiting on the synchronous standby as usual", func(cs *plugin.ClusterStatus) {
			cs.Nodes[0].SyncRepWaiting, cs.Nodes[0].SyncRepLongestWait = 1, 3*time.Millisecond
		}, StatusHealthy, ""},
		{"every node down", func(cs *plugin.ClusterStatus) {
			cs.Primary = ""
			for i := range cs.Nodes {
				cs.Nodes[i].Healthy, cs.Nodes[i].InRotation = false, false
			}
		}, StatusUnhealthy, "no node is usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fullCluster()
			tc.mutate(&cs)
			r := reportManager().healthReport(cs, now)
			assert.Equal(t, tc.status, r.Status, "%v", r.Problems)
			if tc.problem == "" {
				assert.Empty(t, r.Problems)
			} else {
				assert.Contains(t, strings.Join(r.Problems, "\n"), tc.problem)
			}
		})
	}
}

func TestHealthReportRoleOfANodeThatNeverAnswered(t *testing.T) {
	cs := fullCluster()
	// The plugin starts from host = primary; a node that never answered
	// keeps that assumed role, which the report does not repeat.
	cs.Primary = ""
	cs.Nodes[0].Healthy, cs.Nodes[0].InRotation, cs.Nodes[0].Answered = false, false, false
	r := reportManager().healthReport(cs, time.Now())
	assert.Equal(t, "unknown", r.Nodes[0].Role)
	assert.Equal(t, "unknown", connectionInfo(cs, plugin.Metrics{}, true).Nodes[0].Role)
	assert.Equal(t, "replica", r.Nodes[1].Role)
}

func TestHealthReportNoPrimaryPastFailoverTimeout(t *testing.T) {
	m := reportManager()
	cs := fullCluster()
	t0 := time.Now()
	cs.Primary, cs.Nodes[0].Healthy, cs.NoPrimarySince = "", false, t0
	assert.Equal(t, StatusDegraded, m.healthReport(cs, t0).Status)
	assert.Equal(t, StatusDegraded, m.healthReport(cs, t0.Add(m.cfg.FailoverTimeout-time.Millisecond)).Status)
	r := m.healthReport(cs, t0.Add(m.cfg.FailoverTimeout))
	assert.Equal(t, StatusUnhealthy, r.Status)
	assert.Contains(t, strings.Join(r.Problems, "\n"), "no primary for 5s")
	assert.Equal(t, StatusHealthy, m.healthReport(fullCluster(), t0.Add(time.Minute)).Status)
}

func TestHealthReportFiguresAndJSON(t *testing.T) {
	m := reportManager()
	require.NoError(t, m.reg.Register(&reportA{}))
	require.NoError(t, m.reg.Register(&reportB{})) // same table: a conflict outside strict mode
	cs := fullCluster()
	cs.Nodes[1].Healthy, cs.Nodes[1].InRotation = false, false
	cs.Nodes[1].LastError = "failed to connect to user=postgres password=" + reportSecret
	cs.Nodes[2].Lag, cs.Nodes[2].LagBytes = 250*time.Millisecond, 4096
	r := m.healthReport(cs, time.Now())

	assert.Equal(t, PoolFigures{Open: 12, InUse: 3, Idle: 9, MaxOpen: 120, WaitCount: 12, WaitDurationMs: 6}, r.ConnectionPool)
	assert.Equal(t, 3, r.ActiveConnections)
	assert.Equal(t, 51, r.ConnectionBudget.PerNode, "the default pools' budget")
	assert.Equal(t, time.Unix(1700000000, 0), r.CheckedAt)
	require.Len(t, r.Nodes, 3)
	assert.Equal(t, 1.5, r.Nodes[0].LatencyMs)
	assert.Equal(t, 250.0, r.Nodes[2].ReplicationLagMs)
	assert.Equal(t, int64(4096), r.Nodes[2].ReplicationLagBytes)
	assert.Equal(t, "failed to connect to user=postgres password=***", r.Nodes[1].Error)
	require.Len(t, r.RegistryConflicts, 1)

	data, err := json.Marshal(r)
	require.NoError(t, err)
	assert.NotContains(t, string(data), reportSecret)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	for _, k := range []string{"status", "connection_pool", "connection_budget", "active_connections", "nodes", "checked_at", "registry_conflicts", "split_brain"} {
		assert.Contains(t, got, k)
	}
	for _, k := range []string{"open", "in_use", "idle", "max_open", "wait_count", "wait_duration_ms"} {
		assert.Contains(t, got["connection_pool"], k)
	}
	node := got["nodes"].([]any)[1].(map[string]any)
	for _, k := range []string{"host", "port", "role", "healthy", "in_rotation", "latency_ms", "replication_lag_ms", "replication_lag_bytes", "sync_rep_waiting", "sync_rep_longest_wait_ms", "sync_rep_stalled", "error"} {
		assert.Contains(t, node, k)
	}
	assert.Equal(t, "replica", node["role"])
	assert.Equal(t, 5433.0, node["port"])

	// registry_conflicts is left out when there are none.
	data, err = json.Marshal(reportManager().healthReport(fullCluster(), time.Now()))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "registry_conflicts")
}

type reportA struct{ ID int }

func (reportA) TableName() string { return "report_things" }

type reportB struct{ ID int }

func (reportB) TableName() string { return "report_things" }

func TestConnectionInfoFigures(t *testing.T) {
	cs := fullCluster()
	cs.Failovers = 2
	buckets := func(i int, n int64) []int64 {
		b := make([]int64, len(plugin.LatencyBuckets)+1)
		b[i] = n
		return b
	}
	mt := plugin.Metrics{
		Nodes: map[string]plugin.Figures{
			"a": {Queries: 6, Errors: 1, Retries: 1, Total: 12 * time.Millisecond, Buckets: buckets(4, 6)},
			"b": {Queries: 4, Total: 4 * time.Millisecond, Buckets: buckets(3, 4)},
		},
		Modes: map[string]plugin.Figures{
			"auto":       {Queries: 4, Total: 4 * time.Millisecond, Buckets: buckets(3, 4)},
			"read_write": {Queries: 6, Errors: 1, Retries: 1, Total: 12 * time.Millisecond, Buckets: buckets(4, 6)},
			"batch":      {Buckets: buckets(0, 0)},
		},
	}
	ci := connectionInfo(cs, mt, true)
	assert.Equal(t, 3, ci.ActiveConnections)
	assert.Equal(t, 9, ci.IdleConnections)
	assert.InDelta(t, 2.5, ci.PoolUtilization, 1e-9) // 3 of 120
	assert.Equal(t, int64(10), ci.QueriesTotal)
	assert.Equal(t, int64(1), ci.ErrorsTotal)
	assert.Equal(t, int64(1), ci.RetriesTotal)
	assert.Equal(t, int64(2), ci.FailoversTotal)
	assert.Equal(t, 1.6, ci.AvgResponseTime) // 16 ms / 10
	require.Len(t, ci.Nodes, 3)
	assert.Equal(t, "primary", ci.Nodes[0].Role)
	assert.Equal(t, 2.0, ci.Nodes[0].AvgMs)
	assert.Greater(t, ci.Nodes[0].P99Ms, 1.0)
	assert.LessOrEqual(t, ci.Nodes[0].P99Ms, 2.5)
	assert.Equal(t, PoolInfo{InUse: 1, Idle: 2, Open: 3, MaxOpen: 20, WaitCount: 4, WaitMs: 2}, ci.Nodes[0].Pools["write"])
	assert.Equal(t, int64(6), ci.Modes["read_write"].Queries)
	assert.Zero(t, ci.Nodes[2].Queries)

	data, err := json.Marshal(ci)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	for _, k := range []string{"active_connections", "idle_connections", "pool_utilization", "avg_response_time", "queries_total", "errors_total", "failovers_total", "retries_total", "nodes", "modes"} {
		assert.Contains(t, got, k)
	}
	node := got["nodes"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "role", "queries", "errors", "retries", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "pools"} {
		assert.Contains(t, node, k)
	}
	for _, k := range []string{"in_use", "idle", "open", "max_open", "wait_count", "wait_ms"} {
		assert.Contains(t, node["pools"].(map[string]any)["write"], k)
	}

	// No pools: no division by zero.
	empty := connectionInfo(plugin.ClusterStatus{}, plugin.Metrics{}, false)
	assert.Zero(t, empty.PoolUtilization)
	assert.Zero(t, empty.AvgResponseTime)
}

func TestQueryFiguresFromOneSample(t *testing.T) {
	// One statement of 0.7 ms: its percentiles are that one sample, not
	// three different points interpolated inside its histogram bucket.
	b := make([]int64, len(plugin.LatencyBuckets)+1)
	b[3] = 1 // (0.5 ms, 1 ms]
	f := queryFigures(plugin.Figures{Queries: 1, Total: 700 * time.Microsecond, Buckets: b})
	assert.Equal(t, int64(1), f.Samples)
	assert.Equal(t, QueryFigures{Queries: 1, Samples: 1, AvgMs: 0.7, P50Ms: 0.7, P95Ms: 0.7, P99Ms: 0.7}, f)

	b[3] = 4
	f = queryFigures(plugin.Figures{Queries: 4, Total: 2800 * time.Microsecond, Buckets: b})
	assert.Equal(t, int64(4), f.Samples)
	assert.Less(t, f.P50Ms, f.P99Ms, "several samples: estimated from the histogram")

	assert.Equal(t, QueryFigures{}, queryFigures(plugin.Figures{}))
}
