package tests

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// waitStatus polls the snapshot report until it has status want.
func waitStatus(t *testing.T, m *datalayer.Manager, want string, within time.Duration) datalayer.HealthReport {
	t.Helper()
	var rep datalayer.HealthReport
	require.Eventually(t, func() bool {
		var err error
		rep, err = m.HealthCheck(testCtx(t))
		require.NoError(t, err)
		return rep.Status == want
	}, within, 20*time.Millisecond, "status %s, want %s: %v", rep.Status, want, rep.Problems)
	return rep
}

func nodeOf(t *testing.T, rep datalayer.HealthReport, n *pgcluster.Node) datalayer.NodeHealth {
	t.Helper()
	for _, nh := range rep.Nodes {
		if nh.Port == n.Port() {
			return nh
		}
	}
	t.Fatalf("node %s not in the report", n.Addr())
	return datalayer.NodeHealth{}
}

func TestHealthReportThroughAnOutage(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	m := newManager(t, c, func(cfg *datalayer.Config) { cfg.FailoverTimeout = 2 * time.Second })
	srv := httptest.NewServer(datalayer.ReadinessHandler(m))
	defer srv.Close()
	ready := func() int {
		resp, err := http.Get(srv.URL + "?fresh=1")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	noSecret := func(rep datalayer.HealthReport) {
		data, err := json.Marshal(rep)
		require.NoError(t, err)
		assert.NotContains(t, string(data), c.Password())
	}

	waitStatus(t, m, datalayer.StatusHealthy, 10*time.Second)
	assert.Equal(t, http.StatusOK, ready())

	// A replica stopped: it leaves rotation, writes still work.
	require.NoError(t, r2.Stop(ctx))
	rep := waitStatus(t, m, datalayer.StatusDegraded, 10*time.Second)
	down := nodeOf(t, rep, r2)
	assert.False(t, down.Healthy)
	assert.False(t, down.InRotation)
	assert.NotEmpty(t, down.Error)
	assert.Contains(t, strings.Join(rep.Problems, "\n"), r2.Addr())
	assert.Equal(t, primary.Addr(), rep.Primary)
	noSecret(rep)
	assert.Equal(t, http.StatusOK, ready(), "degraded is still ready")

	// The primary stopped too: reads only, degraded until failover_timeout,
	// then unhealthy.
	require.NoError(t, primary.Stop(ctx))
	rep = waitStatus(t, m, datalayer.StatusDegraded, 10*time.Second)
	if rep.Primary == "" {
		assert.Contains(t, strings.Join(rep.Problems, "\n"), "reads only")
	}
	rep = waitStatus(t, m, datalayer.StatusUnhealthy, 10*time.Second)
	assert.Empty(t, rep.Primary)
	assert.Contains(t, strings.Join(rep.Problems, "\n"), "no primary for")
	assert.True(t, nodeOf(t, rep, r1).Healthy, "the last replica still serves reads")
	assert.Equal(t, http.StatusServiceUnavailable, ready())

	// Everything stopped: no usable node.
	require.NoError(t, r1.Stop(ctx))
	rep = waitStatus(t, m, datalayer.StatusUnhealthy, 10*time.Second)
	require.Eventually(t, func() bool {
		rep, _ = m.HealthCheck(testCtx(t), datalayer.Fresh())
		return strings.Contains(strings.Join(rep.Problems, "\n"), "no node is usable")
	}, 10*time.Second, 50*time.Millisecond, "%v", rep.Problems)
	for _, n := range rep.Nodes {
		assert.False(t, n.Healthy, n.Name)
		assert.NotEmpty(t, n.Error, n.Name)
	}
	noSecret(rep)
	assert.Equal(t, http.StatusServiceUnavailable, ready())
}
