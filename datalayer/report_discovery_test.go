package datalayer

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/plugin"
)

func TestHealthReportDiscovery(t *testing.T) {
	m := reportManager()
	cs := fullCluster()
	at := time.Unix(1700000000, 0).UTC()
	cs.Discovery = plugin.DiscoveryStatus{Source: "patroni http://127.0.0.1:8008", Interval: 10 * time.Second, LastRefresh: at, Added: 2, Removed: 1}
	cs.Nodes[0].SourceRole, cs.Nodes[0].SourceState = "leader", "running"
	r := m.healthReport(cs, at)
	assert.Equal(t, StatusHealthy, r.Status)
	assert.Equal(t, DiscoveryHealth{Source: "patroni http://127.0.0.1:8008", IntervalMs: 10000, LastRefresh: at, Added: 2, Removed: 1}, r.Discovery)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"discovery":{"source":"patroni http://127.0.0.1:8008","interval_ms":10000,"last_refresh":"2023-11-14T22:13:20Z","error":"","added":2,"removed":1}`)
	assert.Contains(t, string(b), `"source_role":"leader","source_state":"running"`)

	// A failing lookup: the nodes still serve, the report says the list may be stale.
	cs.Discovery.LastError = "patroni http://127.0.0.1:8008: connection refused, password " + reportSecret
	r = m.healthReport(cs, at)
	assert.Equal(t, StatusDegraded, r.Status)
	require.Len(t, r.Problems, 1)
	assert.Contains(t, r.Problems[0], "discovery (patroni http://127.0.0.1:8008) failed at 2023-11-14T22:13:20Z")
	assert.Contains(t, r.Problems[0], "keeping the 3 known node(s)")
	assert.NotContains(t, r.Problems[0], reportSecret)

	cs.Discovery = plugin.DiscoveryStatus{Source: "static"}
	r = m.healthReport(cs, at)
	assert.Equal(t, StatusHealthy, r.Status)
	assert.Equal(t, "static", r.Discovery.Source)
}
