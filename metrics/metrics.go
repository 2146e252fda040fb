// Package metrics exposes a unifieddb Manager's health and statement figures
// to Prometheus.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(m))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Nothing is registered globally. Every scrape reads the Manager's latest
// snapshots (no query is sent to the database). Metric names and labels:
//
//	unifieddb_node_up{node,role}                    gauge    1 when the node answers its probes and is in service
//	unifieddb_node_in_rotation{node,role}           gauge    1 when the node takes traffic
//	unifieddb_replication_lag_seconds{node}         gauge    replay lag behind the primary, in time
//	unifieddb_replication_lag_bytes{node}           gauge    replay lag behind the primary, in WAL bytes
//	unifieddb_probe_latency_seconds{node}           gauge    round trip of the last successful probe
//	unifieddb_split_brain                           gauge    1 when more than one node accepts writes
//	unifieddb_failovers_total                       counter  changes of primary after one was lost or demoted
//	unifieddb_queries_total{node}                   counter  statement attempts
//	unifieddb_query_errors_total{node}              counter  failed attempts
//	unifieddb_query_retries_total{node}             counter  attempts re-run after a failure
//	unifieddb_mode_queries_total{mode}              counter  statement attempts by mode
//	unifieddb_mode_query_errors_total{mode}         counter  failed attempts by mode
//	unifieddb_mode_query_retries_total{mode}        counter  retried attempts by mode
//	unifieddb_query_duration_seconds{mode}          histogram duration of statement attempts by mode
//	unifieddb_pool_connections{node,pool,state}     gauge    connections by state: in_use, idle
//	unifieddb_pool_max_open{node,pool}              gauge    the pool's maximum of open connections
//	unifieddb_pool_wait_total{node,pool}            counter  waits for a free connection
//	unifieddb_pool_wait_seconds_total{node,pool}    counter  time spent waiting for a free connection
//
// node is "host:port"; role is primary, replica or unknown; mode is auto,
// read_only, read_write, batch or transactional; pool is write, read, batch
// or transactional. The statement figures stay 0 with enable_metrics false.
package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/plugin"
)

const namespace = "unifieddb"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	descNodeUp         = desc("node_up", "1 when the node answers its health probes and is in service, else 0.", "node", "role")
	descNodeInRotation = desc("node_in_rotation", "1 when the node takes traffic (the primary, or a replica within max_replication_lag), else 0.", "node", "role")
	descLagSeconds     = desc("replication_lag_seconds", "How long ago the primary first had WAL this replica has not replayed.", "node")
	descLagBytes       = desc("replication_lag_bytes", "WAL bytes this replica has not replayed.", "node")
	descProbeLatency   = desc("probe_latency_seconds", "Round trip of the node's last successful health probe.", "node")
	descSyncRepWaiting = desc("sync_rep_waiting", "Backends of the node waiting on synchronous replication (commits a synchronous standby has not confirmed), as its last probe saw.", "node")
	descSyncRepStalled = desc("sync_rep_stalled", "1 when the node's commits are stalled on a synchronous standby (one waited a second, or commits waited half a second while the standbys confirmed nothing), else 0.", "node")
	descSplitBrain     = desc("split_brain", "1 when more than one node accepts writes, else 0.")
	descFailovers      = desc("failovers_total", "Changes of primary after the previous one was lost or demoted.")
	descQueries        = desc("queries_total", "Statement attempts sent to the node.", "node")
	descErrors         = desc("query_errors_total", "Statement attempts on the node that failed (not counting those cancelled by their context).", "node")
	descRetries        = desc("query_retries_total", "Statement attempts re-run after a failure on the node.", "node")
	descModeQueries    = desc("mode_queries_total", "Statement attempts by mode.", "mode")
	descModeErrors     = desc("mode_query_errors_total", "Failed statement attempts by mode.", "mode")
	descModeRetries    = desc("mode_query_retries_total", "Retried statement attempts by mode.", "mode")
	descDuration       = desc("query_duration_seconds", "Duration of statement attempts by mode.", "mode")
	descPoolConns      = desc("pool_connections", "Connections of the pool by state (in_use, idle).", "node", "pool", "state")
	descPoolMaxOpen    = desc("pool_max_open", "Maximum number of open connections of the pool.", "node", "pool")
	descPoolWaits      = desc("pool_wait_total", "Times a caller waited for a free connection of the pool.", "node", "pool")
	descPoolWaitSecs   = desc("pool_wait_seconds_total", "Time callers spent waiting for a free connection of the pool.", "node", "pool")
)

var allDescs = []*prometheus.Desc{
	descNodeUp, descNodeInRotation, descLagSeconds, descLagBytes, descProbeLatency,
	descSyncRepWaiting, descSyncRepStalled,
	descSplitBrain, descFailovers, descQueries, descErrors, descRetries,
	descModeQueries, descModeErrors, descModeRetries, descDuration,
	descPoolConns, descPoolMaxOpen, descPoolWaits, descPoolWaitSecs,
}

// bucketBounds are plugin.LatencyBuckets in seconds.
var bucketBounds = func() []float64 {
	b := make([]float64, len(plugin.LatencyBuckets))
	for i, d := range plugin.LatencyBuckets {
		b[i] = d.Seconds()
	}
	return b
}()

type collector struct {
	m *datalayer.Manager
}

// NewCollector returns a prometheus.Collector of m's figures. Register it
// on your own registry; it reads m's snapshots at every scrape. After m is
// closed it keeps reporting the last figures.
func NewCollector(m *datalayer.Manager) prometheus.Collector {
	return &collector{m: m}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	p := c.m.Plugin()
	st, mt := p.Status(), p.Metrics()

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}

	gauge(descSplitBrain, boolValue(st.SplitBrain))
	counter(descFailovers, float64(st.Failovers))
	for _, n := range st.Nodes {
		role := datalayer.NodeRole(n)
		gauge(descNodeUp, boolValue(n.Healthy), n.Name, role)
		gauge(descNodeInRotation, boolValue(n.InRotation), n.Name, role)
		gauge(descLagSeconds, n.Lag.Seconds(), n.Name)
		gauge(descLagBytes, float64(n.LagBytes), n.Name)
		gauge(descProbeLatency, n.Latency.Seconds(), n.Name)
		gauge(descSyncRepWaiting, float64(n.SyncRepWaiting), n.Name)
		gauge(descSyncRepStalled, boolValue(n.SyncRepStalled), n.Name)

		f := mt.Nodes[n.Name]
		counter(descQueries, float64(f.Queries), n.Name)
		counter(descErrors, float64(f.Errors), n.Name)
		counter(descRetries, float64(f.Retries), n.Name)

		kinds := make([]string, 0, len(n.Pools))
		for k := range n.Pools {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			s := n.Pools[k]
			gauge(descPoolConns, float64(s.InUse), n.Name, k, "in_use")
			gauge(descPoolConns, float64(s.Idle), n.Name, k, "idle")
			gauge(descPoolMaxOpen, float64(s.MaxOpenConnections), n.Name, k)
			counter(descPoolWaits, float64(s.WaitCount), n.Name, k)
			counter(descPoolWaitSecs, s.WaitDuration.Seconds(), n.Name, k)
		}
	}

	modes := make([]string, 0, len(mt.Modes))
	for name := range mt.Modes {
		modes = append(modes, name)
	}
	sort.Strings(modes)
	for _, name := range modes {
		f := mt.Modes[name]
		counter(descModeQueries, float64(f.Queries), name)
		counter(descModeErrors, float64(f.Errors), name)
		counter(descModeRetries, float64(f.Retries), name)
		count, buckets := histogram(f.Buckets)
		ch <- prometheus.MustNewConstHistogram(descDuration, count, f.Total.Seconds(), buckets, name)
	}
}

// histogram turns the plugin's per-bucket counts (not cumulative, the last
// one above every bound) into Prometheus's cumulative buckets and count.
func histogram(counts []int64) (uint64, map[float64]uint64) {
	buckets := make(map[float64]uint64, len(bucketBounds))
	var cum uint64
	for i, bound := range bucketBounds {
		if i < len(counts) {
			cum += uint64(max(counts[i], 0))
		}
		buckets[bound] = cum
	}
	for i := len(bucketBounds); i < len(counts); i++ {
		cum += uint64(max(counts[i], 0))
	}
	return cum, buckets
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
