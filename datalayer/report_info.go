package datalayer

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/prompt-improver/unifieddb/plugin"
)

// ConnectionInfo is the pool and statement figures of the Manager. Its JSON
// field names are part of the public contract. With enable_metrics false the
// statement figures are zero; the pool figures are always there.
type ConnectionInfo struct {
	// ActiveConnections: connections in use, all pools of all nodes.
	ActiveConnections int `json:"active_connections"`
	// IdleConnections: idle connections, all pools of all nodes.
	IdleConnections int `json:"idle_connections"`
	// PoolUtilization is in use / max open over every pool, in percent (0–100).
	PoolUtilization float64 `json:"pool_utilization"`
	// AvgResponseTime is the mean statement attempt, in milliseconds.
	AvgResponseTime float64 `json:"avg_response_time"`
	// QueriesTotal counts statement attempts (a retried statement counts
	// once per attempt).
	QueriesTotal int64 `json:"queries_total"`
	// ErrorsTotal counts failed attempts (not those cancelled by their context).
	ErrorsTotal int64 `json:"errors_total"`
	// FailoversTotal counts changes of primary after one was lost or demoted.
	FailoversTotal int64 `json:"failovers_total"`
	// RetriesTotal counts attempts re-run on another node or connection.
	RetriesTotal int64 `json:"retries_total"`
	// MetricsEnabled is enable_metrics.
	MetricsEnabled bool `json:"metrics_enabled"`
	// Nodes are the configured nodes, host first.
	Nodes []NodeInfo `json:"nodes"`
	// Modes are keyed by mode name: auto, read_only, read_write, batch,
	// transactional.
	Modes map[string]QueryFigures `json:"modes"`
	// Clusters are the named clusters' figures keyed by name (their nodes,
	// pools and per-node statement figures; no modes), omitted with one
	// cluster. The fields above are the default cluster's, except the mode
	// figures and the totals derived from them, which count every cluster.
	Clusters map[string]ConnectionInfo `json:"clusters,omitempty"`
}

// QueryFigures are the statement figures of one node or one mode; latencies
// are in milliseconds, quantiles estimated from a histogram of Samples
// statement attempts. From one sample, the quantiles are that sample (equal
// to AvgMs), not points interpolated inside its histogram bucket.
type QueryFigures struct {
	Queries int64   `json:"queries"`
	Errors  int64   `json:"errors"`
	Retries int64   `json:"retries"`
	Samples int64   `json:"samples"`
	AvgMs   float64 `json:"avg_ms"`
	P50Ms   float64 `json:"p50_ms"`
	P95Ms   float64 `json:"p95_ms"`
	P99Ms   float64 `json:"p99_ms"`
}

// NodeInfo is one node of ConnectionInfo.
type NodeInfo struct {
	Name string `json:"name"` // host:port
	Role string `json:"role"`
	QueryFigures
	// Pools by kind: write, read, batch, transactional.
	Pools map[string]PoolInfo `json:"pools"`
}

// PoolInfo is one pool of one node.
type PoolInfo struct {
	InUse     int     `json:"in_use"`
	Idle      int     `json:"idle"`
	Open      int     `json:"open"`
	MaxOpen   int     `json:"max_open"`
	WaitCount int64   `json:"wait_count"`
	WaitMs    float64 `json:"wait_ms"`
}

// ConnectionInfo returns the pool and statement figures. It sends no query.
// The error is ctx's error, or ErrClosed after Close.
func (m *Manager) ConnectionInfo(ctx context.Context) (ConnectionInfo, error) {
	if err := m.usable(ctx); err != nil {
		return ConnectionInfo{}, err
	}
	ci := connectionInfo(m.plugin.Status(), m.plugin.Metrics(), m.cfg.EnableMetrics)
	ci.Clusters = m.clusterInfos()
	return ci, nil
}

func connectionInfo(cs plugin.ClusterStatus, mt plugin.Metrics, enabled bool) ConnectionInfo {
	ci := ConnectionInfo{
		FailoversTotal: cs.Failovers,
		MetricsEnabled: enabled,
		Nodes:          make([]NodeInfo, 0, len(cs.Nodes)),
		Modes:          make(map[string]QueryFigures, len(mt.Modes)),
	}
	var inUse, maxOpen int
	for _, n := range cs.Nodes {
		ni := NodeInfo{Name: n.Name, Role: NodeRole(n), QueryFigures: queryFigures(mt.Nodes[n.Name]), Pools: map[string]PoolInfo{}}
		for kind, s := range n.Pools {
			ni.Pools[kind] = PoolInfo{
				InUse: s.InUse, Idle: s.Idle, Open: s.OpenConnections, MaxOpen: s.MaxOpenConnections,
				WaitCount: s.WaitCount, WaitMs: millis(s.WaitDuration),
			}
			inUse += s.InUse
			maxOpen += s.MaxOpenConnections
			ci.IdleConnections += s.Idle
		}
		ci.Nodes = append(ci.Nodes, ni)
	}
	ci.ActiveConnections = inUse
	if maxOpen > 0 {
		ci.PoolUtilization = min(100, 100*float64(inUse)/float64(maxOpen))
	}
	var total time.Duration
	for name, f := range mt.Modes {
		ci.Modes[name] = queryFigures(f)
		ci.QueriesTotal += f.Queries
		ci.ErrorsTotal += f.Errors
		ci.RetriesTotal += f.Retries
		total += f.Total
	}
	if ci.QueriesTotal > 0 {
		ci.AvgResponseTime = millis(total / time.Duration(ci.QueriesTotal))
	}
	return ci
}

func queryFigures(f plugin.Figures) QueryFigures {
	q := QueryFigures{
		Queries: f.Queries, Errors: f.Errors, Retries: f.Retries,
		AvgMs: millis(f.Mean()),
	}
	for _, b := range f.Buckets {
		q.Samples += b
	}
	if q.Samples == 1 {
		// The one sample's duration is known exactly: it is the mean.
		q.P50Ms, q.P95Ms, q.P99Ms = q.AvgMs, q.AvgMs, q.AvgMs
		return q
	}
	q.P50Ms = millis(f.Quantile(0.50))
	q.P95Ms = millis(f.Quantile(0.95))
	q.P99Ms = millis(f.Quantile(0.99))
	return q
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func sortedPoolKinds(pools map[string]sql.DBStats) []string {
	kinds := make([]string, 0, len(pools))
	for k := range pools {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
