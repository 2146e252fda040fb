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
// With several clusters (Config.Clusters) every metric but the mode ones has
// a first label cluster: "default" or the named cluster's name.
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

// descs are the collector's metric descriptions. With several clusters
// every metric has one more label, cluster, first: the names stay, and one
// cluster's output is the same as before clusters existed.
type descs struct {
	nodeUp, nodeInRotation, lagSeconds, lagBytes, probeLatency *prometheus.Desc
	syncRepWaiting, syncRepStalled, splitBrain, failovers      *prometheus.Desc
	queries, errors, retries, modeQueries, modeErrors          *prometheus.Desc
	modeRetries, duration, poolConns, poolMaxOpen, poolWaits   *prometheus.Desc
	poolWaitSecs                                               *prometheus.Desc
	all                                                        []*prometheus.Desc
}

// newDescs makes the descriptions; first are labels before each metric's own.
func newDescs(first ...string) *descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return desc(name, help, append(append([]string(nil), first...), labels...)...)
	}
	ds := &descs{
		nodeUp:         d("node_up", "1 when the node answers its health probes and is in service, else 0.", "node", "role"),
		nodeInRotation: d("node_in_rotation", "1 when the node takes traffic (the primary, or a replica within max_replication_lag), else 0.", "node", "role"),
		lagSeconds:     d("replication_lag_seconds", "How long ago the primary first had WAL this replica has not replayed.", "node"),
		lagBytes:       d("replication_lag_bytes", "WAL bytes this replica has not replayed.", "node"),
		probeLatency:   d("probe_latency_seconds", "Round trip of the node's last successful health probe.", "node"),
		syncRepWaiting: d("sync_rep_waiting", "Backends of the node waiting on synchronous replication (commits a synchronous standby has not confirmed), as its last probe saw.", "node"),
		syncRepStalled: d("sync_rep_stalled", "1 when the node's commits are stalled on a synchronous standby (one waited a second, or commits waited half a second while the standbys confirmed nothing), else 0.", "node"),
		splitBrain:     d("split_brain", "1 when more than one node accepts writes, else 0."),
		failovers:      d("failovers_total", "Changes of primary after the previous one was lost or demoted."),
		queries:        d("queries_total", "Statement attempts sent to the node.", "node"),
		errors:         d("query_errors_total", "Statement attempts on the node that failed (not counting those cancelled by their context).", "node"),
		retries:        d("query_retries_total", "Statement attempts re-run after a failure on the node.", "node"),
		// Modes are counted for the whole Manager: never a cluster label.
		modeQueries:  desc("mode_queries_total", "Statement attempts by mode.", "mode"),
		modeErrors:   desc("mode_query_errors_total", "Failed statement attempts by mode.", "mode"),
		modeRetries:  desc("mode_query_retries_total", "Retried statement attempts by mode.", "mode"),
		duration:     desc("query_duration_seconds", "Duration of statement attempts by mode.", "mode"),
		poolConns:    d("pool_connections", "Connections of the pool by state (in_use, idle).", "node", "pool", "state"),
		poolMaxOpen:  d("pool_max_open", "Maximum number of open connections of the pool.", "node", "pool"),
		poolWaits:    d("pool_wait_total", "Times a caller waited for a free connection of the pool.", "node", "pool"),
		poolWaitSecs: d("pool_wait_seconds_total", "Time callers spent waiting for a free connection of the pool.", "node", "pool"),
	}
	ds.all = []*prometheus.Desc{
		ds.nodeUp, ds.nodeInRotation, ds.lagSeconds, ds.lagBytes, ds.probeLatency,
		ds.syncRepWaiting, ds.syncRepStalled,
		ds.splitBrain, ds.failovers, ds.queries, ds.errors, ds.retries,
		ds.modeQueries, ds.modeErrors, ds.modeRetries, ds.duration,
		ds.poolConns, ds.poolMaxOpen, ds.poolWaits, ds.poolWaitSecs,
	}
	return ds
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
	d *descs
	// clusters are the cluster names with several clusters, nil with one.
	clusters []string
}

// NewCollector returns a prometheus.Collector of m's figures. Register it
// on your own registry; it reads m's snapshots at every scrape. After m is
// closed it keeps reporting the last figures. With several clusters
// (Config.Clusters) every per-node and per-cluster metric has a first
// label cluster ("default" for the top-level one); the mode metrics count
// the whole Manager and have none.
func NewCollector(m *datalayer.Manager) prometheus.Collector {
	if len(m.Config().Clusters) == 0 {
		return &collector{m: m, d: newDescs()}
	}
	return &collector{m: m, d: newDescs("cluster"), clusters: m.Plugin().ClusterNames()}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	p := c.m.Plugin()
	if c.clusters == nil {
		c.collectCluster(ch, p.Status(), p.Metrics())
	}
	for _, name := range c.clusters {
		st, err := p.StatusOf(name)
		if err != nil {
			continue // names come from the plugin: never
		}
		mt, err := p.MetricsOf(name)
		if err != nil {
			continue
		}
		c.collectCluster(ch, st, mt, name)
	}
	c.collectModes(ch, p.Metrics())
}

// collectCluster sends one cluster's metrics; first is its cluster label
// value with several clusters.
func (c *collector) collectCluster(ch chan<- prometheus.Metric, st plugin.ClusterStatus, mt plugin.Metrics, first ...string) {
	d := c.d
	gauge := func(ds *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(ds, prometheus.GaugeValue, v, append(append([]string(nil), first...), labels...)...)
	}
	counter := func(ds *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(ds, prometheus.CounterValue, v, append(append([]string(nil), first...), labels...)...)
	}

	gauge(d.splitBrain, boolValue(st.SplitBrain))
	counter(d.failovers, float64(st.Failovers))
	for _, n := range st.Nodes {
		role := datalayer.NodeRole(n)
		gauge(d.nodeUp, boolValue(n.Healthy), n.Name, role)
		gauge(d.nodeInRotation, boolValue(n.InRotation), n.Name, role)
		gauge(d.lagSeconds, n.Lag.Seconds(), n.Name)
		gauge(d.lagBytes, float64(n.LagBytes), n.Name)
		gauge(d.probeLatency, n.Latency.Seconds(), n.Name)
		gauge(d.syncRepWaiting, float64(n.SyncRepWaiting), n.Name)
		gauge(d.syncRepStalled, boolValue(n.SyncRepStalled), n.Name)

		f := mt.Nodes[n.Name]
		counter(d.queries, float64(f.Queries), n.Name)
		counter(d.errors, float64(f.Errors), n.Name)
		counter(d.retries, float64(f.Retries), n.Name)

		kinds := make([]string, 0, len(n.Pools))
		for k := range n.Pools {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			s := n.Pools[k]
			gauge(d.poolConns, float64(s.InUse), n.Name, k, "in_use")
			gauge(d.poolConns, float64(s.Idle), n.Name, k, "idle")
			gauge(d.poolMaxOpen, float64(s.MaxOpenConnections), n.Name, k)
			counter(d.poolWaits, float64(s.WaitCount), n.Name, k)
			counter(d.poolWaitSecs, s.WaitDuration.Seconds(), n.Name, k)
		}
	}
}

// collectModes sends the mode metrics of the whole Manager.
func (c *collector) collectModes(ch chan<- prometheus.Metric, mt plugin.Metrics) {
	d := c.d
	counter := func(ds *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(ds, prometheus.CounterValue, v, labels...)
	}
	modes := make([]string, 0, len(mt.Modes))
	for name := range mt.Modes {
		modes = append(modes, name)
	}
	sort.Strings(modes)
	for _, name := range modes {
		f := mt.Modes[name]
		counter(d.modeQueries, float64(f.Queries), name)
		counter(d.modeErrors, float64(f.Errors), name)
		counter(d.modeRetries, float64(f.Retries), name)
		count, buckets := histogram(f.Buckets)
		ch <- prometheus.MustNewConstHistogram(d.duration, count, f.Total.Seconds(), buckets, name)
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
