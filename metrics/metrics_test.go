package metrics

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

func TestHistogramIsCumulative(t *testing.T) {
	counts := make([]int64, len(plugin.LatencyBuckets)+1)
	counts[0], counts[3], counts[len(counts)-1] = 2, 5, 1
	count, buckets := histogram(counts)
	assert.Equal(t, uint64(8), count, "the +Inf bucket holds every attempt")
	require.Len(t, buckets, len(plugin.LatencyBuckets))
	assert.Equal(t, uint64(2), buckets[0.0001])
	assert.Equal(t, uint64(2), buckets[0.0005])
	assert.Equal(t, uint64(7), buckets[0.001])
	assert.Equal(t, uint64(7), buckets[10])

	count, buckets = histogram(nil)
	assert.Zero(t, count)
	assert.Len(t, buckets, len(plugin.LatencyBuckets))
}

// A Manager whose only node is down still gives a complete, lint-clean
// set of metrics.
func TestCollectorWithANodeDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	cfg := datalayer.DefaultConfig()
	cfg.Host, cfg.Port, cfg.Database, cfg.Password = "127.0.0.1", addr.Port, "app", "pw-not-shown"
	cfg.ConnectionTimeout = 500 * time.Millisecond
	cfg.SSLMode = "disable"
	m, err := datalayer.New(context.Background(), cfg)
	require.NoError(t, err)
	defer m.Close()

	c := NewCollector(m)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.Equal(t, 1, testutil.CollectAndCount(c, "unifieddb_node_up"))
	assert.Equal(t, 8, testutil.CollectAndCount(c, "unifieddb_pool_connections"))
	assert.Equal(t, 1, testutil.CollectAndCount(c, "unifieddb_sync_rep_waiting"))
	assert.Equal(t, 1, testutil.CollectAndCount(c, "unifieddb_sync_rep_stalled"))
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP unifieddb_failovers_total Changes of primary after the previous one was lost or demoted.
# TYPE unifieddb_failovers_total counter
unifieddb_failovers_total 0
# HELP unifieddb_split_brain 1 when more than one node accepts writes, else 0.
# TYPE unifieddb_split_brain gauge
unifieddb_split_brain 0
`), "unifieddb_failovers_total", "unifieddb_split_brain"))

	require.Eventually(t, func() bool {
		return testutil.CollectAndCompare(c, strings.NewReader(`
# HELP unifieddb_node_up 1 when the node answers its health probes and is in service, else 0.
# TYPE unifieddb_node_up gauge
unifieddb_node_up{node="`+addr.String()+`",role="unknown"} 0
`), "unifieddb_node_up") == nil
	}, 5*time.Second, 20*time.Millisecond)

	require.NoError(t, m.Close())
	assert.Positive(t, testutil.CollectAndCount(c), "a closed Manager keeps its last figures")
}
