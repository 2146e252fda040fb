package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/metrics"
	"github.com/prompt-improver/unifieddb/plugin"
)

// runQueries sends n statements in mode and fails on any error.
func runQueries(t *testing.T, m *datalayer.Manager, mode datalayer.Mode, n int) {
	t.Helper()
	ctx := testCtx(t)
	for range n {
		var one int
		require.NoError(t, m.Conn(ctx, mode).Raw("SELECT 1").Scan(&one).Error)
	}
}

func connectionInfo(t *testing.T, m *datalayer.Manager) datalayer.ConnectionInfo {
	t.Helper()
	ci, err := m.ConnectionInfo(testCtx(t))
	require.NoError(t, err)
	return ci
}

func TestReportFiguresFollowKnownTraffic(t *testing.T) {
	m := newManager(t, shared, nil)
	const n = 7
	before := connectionInfo(t, m)
	assert.True(t, before.MetricsEnabled)
	assert.Zero(t, before.Modes["batch"].Queries, "a fresh Manager")

	runQueries(t, m, datalayer.Batch, n)
	runQueries(t, m, datalayer.ReadOnly, n)
	after := connectionInfo(t, m)

	assert.Equal(t, int64(n), after.Modes["batch"].Queries-before.Modes["batch"].Queries, "batch: nothing else uses it")
	assert.Equal(t, int64(n), after.Modes["read_only"].Queries-before.Modes["read_only"].Queries)
	assert.GreaterOrEqual(t, after.QueriesTotal-before.QueriesTotal, int64(2*n))
	assert.Zero(t, after.ErrorsTotal)
	assert.Greater(t, after.AvgResponseTime, 0.0)
	assert.Greater(t, after.Modes["batch"].P99Ms, 0.0)
	assert.GreaterOrEqual(t, after.Modes["batch"].P99Ms, after.Modes["batch"].P50Ms)

	// The Batch statements ran on the primary, the ReadOnly ones on replicas.
	rep, err := m.HealthCheck(testCtx(t))
	require.NoError(t, err)
	var primaryQueries, replicaQueries int64
	for _, node := range after.Nodes {
		switch node.Role {
		case "primary":
			primaryQueries += node.Queries
			assert.Equal(t, rep.Primary, node.Name)
		case "replica":
			replicaQueries += node.Queries
		}
		assert.Len(t, node.Pools, 4, node.Name)
		assert.Equal(t, m.Config().PoolSize+m.Config().MaxOverflow, node.Pools["write"].MaxOpen)
		assert.Equal(t, m.Config().BatchPoolSize, node.Pools["batch"].MaxOpen)
	}
	assert.GreaterOrEqual(t, primaryQueries, int64(n))
	assert.GreaterOrEqual(t, replicaQueries, int64(n))
	assert.GreaterOrEqual(t, after.IdleConnections, 2, "the pools keep their connections")
	assert.GreaterOrEqual(t, after.PoolUtilization, 0.0)
	assert.LessOrEqual(t, after.PoolUtilization, 100.0)

	// While a connection is held it is active.
	conn, err := m.Conn(testCtx(t), datalayer.Batch).DB()
	require.NoError(t, err)
	c, err := conn.Conn(testCtx(t))
	require.NoError(t, err)
	held := connectionInfo(t, m)
	require.NoError(t, c.Close())
	assert.GreaterOrEqual(t, held.ActiveConnections, 1)
	assert.Greater(t, held.PoolUtilization, 0.0)
	rep, err = m.HealthCheck(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, rep.ConnectionPool.InUse, rep.ActiveConnections)
}

func TestReportWithMetricsOff(t *testing.T) {
	m := newManager(t, shared, func(cfg *datalayer.Config) { cfg.EnableMetrics = false })
	runQueries(t, m, datalayer.ReadWrite, 5)
	ci := connectionInfo(t, m)
	assert.False(t, ci.MetricsEnabled)
	assert.Zero(t, ci.QueriesTotal)
	assert.Zero(t, ci.Modes["read_write"].Queries)
	assert.Zero(t, ci.AvgResponseTime)
	assert.GreaterOrEqual(t, ci.IdleConnections+ci.ActiveConnections, 1, "pool figures are still there")
	assert.Equal(t, m.Config().PoolSize+m.Config().MaxOverflow, ci.Nodes[0].Pools["write"].MaxOpen)
}

func TestHealthCheckOnAFullCluster(t *testing.T) {
	m := newManager(t, shared, nil)
	start := time.Now()
	for _, opts := range [][]datalayer.HealthOption{nil, {datalayer.Fresh()}} {
		rep, err := m.HealthCheck(testCtx(t), opts...)
		require.NoError(t, err)
		assert.Equal(t, datalayer.StatusHealthy, rep.Status, "%v", rep.Problems)
		assert.False(t, rep.SplitBrain)
		require.Len(t, rep.Nodes, 3)
		roles := map[string]int{}
		for _, n := range rep.Nodes {
			roles[n.Role]++
			assert.True(t, n.Healthy, n.Name)
			assert.True(t, n.InRotation, n.Name)
			assert.Empty(t, n.Error, n.Name)
			assert.Greater(t, n.LatencyMs, 0.0, n.Name)
		}
		assert.Equal(t, map[string]int{"primary": 1, "replica": 2}, roles)
		assert.Equal(t, shared.Node("primary").Addr(), rep.Primary)
		assert.WithinDuration(t, time.Now(), rep.CheckedAt, time.Minute)
		if opts != nil {
			assert.False(t, rep.CheckedAt.Before(start), "Fresh probes now")
		}
	}
}

func TestReportsAfterCloseAndWithADoneContext(t *testing.T) {
	m, err := datalayer.New(testCtx(t), newManagerConfig(t))
	require.NoError(t, err)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.HealthCheck(done)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = m.ConnectionInfo(done)
	assert.ErrorIs(t, err, context.Canceled)

	require.NoError(t, m.Close())
	_, err = m.HealthCheck(testCtx(t))
	assert.ErrorIs(t, err, datalayer.ErrClosed)
	_, err = m.HealthCheck(testCtx(t), datalayer.Fresh())
	assert.ErrorIs(t, err, datalayer.ErrClosed)
	_, err = m.ConnectionInfo(testCtx(t))
	assert.ErrorIs(t, err, datalayer.ErrClosed)
}

// get fetches url and decodes its JSON body into a map.
func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v), "%s", body)
	return resp.StatusCode, v
}

func TestHealthHandlersOverHTTP(t *testing.T) {
	m, err := datalayer.New(testCtx(t), newManagerConfig(t))
	require.NoError(t, err)
	defer m.Close()
	mux := http.NewServeMux()
	mux.Handle("/readyz", datalayer.ReadinessHandler(m))
	mux.Handle("/livez", datalayer.LivenessHandler(m))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/readyz", "/readyz?fresh=1"} {
		code, body := get(t, srv.URL+path)
		assert.Equal(t, http.StatusOK, code, path)
		assert.Equal(t, "healthy", body["status"], path)
		for _, k := range []string{"connection_pool", "active_connections", "nodes", "checked_at", "split_brain"} {
			assert.Contains(t, body, k, path)
		}
		nodes := body["nodes"].([]any)
		require.Len(t, nodes, 3)
		for _, k := range []string{"host", "port", "role", "healthy", "in_rotation", "latency_ms", "replication_lag_ms", "replication_lag_bytes", "error"} {
			assert.Contains(t, nodes[0], k, path)
		}
	}
	code, body := get(t, srv.URL+"/livez")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "alive", body["status"])

	resp, err := http.Post(srv.URL+"/readyz", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	require.NoError(t, m.Close())
	code, body = get(t, srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "unhealthy", body["status"])
	assert.Contains(t, body["error"], "closed")
	code, body = get(t, srv.URL+"/livez")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "closed", body["status"])
}

func TestPrometheusCollector(t *testing.T) {
	m := newManager(t, shared, nil)
	const n = 9
	runQueries(t, m, datalayer.Batch, n)
	c := metrics.NewCollector(m)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)

	nodes := shared.Nodes()
	assert.Equal(t, 1, testutil.CollectAndCount(c, "unifieddb_failovers_total"))
	assert.Equal(t, len(nodes), testutil.CollectAndCount(c, "unifieddb_node_up"))
	assert.Equal(t, len(nodes)*4*2, testutil.CollectAndCount(c, "unifieddb_pool_connections"))
	assert.Equal(t, 5, testutil.CollectAndCount(c, "unifieddb_mode_queries_total"))
	assert.Equal(t, 5, testutil.CollectAndCount(c, "unifieddb_query_duration_seconds"))

	// Stable: the pool limits follow the configuration.
	cfg := m.Config()
	var want strings.Builder
	want.WriteString("# HELP unifieddb_pool_max_open Maximum number of open connections of the pool.\n# TYPE unifieddb_pool_max_open gauge\n")
	for _, node := range nodes {
		for _, p := range []struct {
			pool string
			max  int
		}{{"batch", cfg.BatchPoolSize}, {"read", cfg.PoolSize + cfg.MaxOverflow}, {"transactional", cfg.TransactionalPoolSize}, {"write", cfg.PoolSize + cfg.MaxOverflow}} {
			fmt.Fprintf(&want, "unifieddb_pool_max_open{node=%q,pool=%q} %d\n", node.Addr(), p.pool, p.max)
		}
	}
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want.String()), "unifieddb_pool_max_open"))
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(fmt.Sprintf(
		"# HELP unifieddb_mode_queries_total Statement attempts by mode.\n# TYPE unifieddb_mode_queries_total counter\n"+
			"unifieddb_mode_queries_total{mode=\"auto\"} 0\n"+
			"unifieddb_mode_queries_total{mode=\"batch\"} %d\n"+
			"unifieddb_mode_queries_total{mode=\"read_only\"} 0\n"+
			"unifieddb_mode_queries_total{mode=\"read_write\"} 0\n"+
			"unifieddb_mode_queries_total{mode=\"transactional\"} 0\n", n)), "unifieddb_mode_queries_total"),
		"a fresh Manager: only the batch statements")

	// The histogram counts the same attempts, cumulatively.
	h := gathered(t, reg, "unifieddb_query_duration_seconds", map[string]string{"mode": "batch"}).GetHistogram()
	assert.Equal(t, uint64(n), h.GetSampleCount())
	assert.Greater(t, h.GetSampleSum(), 0.0)
	b := h.GetBucket()
	require.Len(t, b, len(plugin.LatencyBuckets))
	assert.LessOrEqual(t, b[len(b)-1].GetCumulativeCount(), uint64(n))
	for i := 1; i < len(b); i++ {
		assert.GreaterOrEqual(t, b[i].GetCumulativeCount(), b[i-1].GetCumulativeCount())
	}
	primary := shared.Node("primary").Addr()
	assert.Equal(t, 1.0, gathered(t, reg, "unifieddb_node_up", map[string]string{"node": primary, "role": "primary"}).GetGauge().GetValue())
	assert.GreaterOrEqual(t, gathered(t, reg, "unifieddb_queries_total", map[string]string{"node": primary}).GetCounter().GetValue(), float64(n))
}

// gathered returns the series of name with exactly labels.
func gathered(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return s
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return nil
}
