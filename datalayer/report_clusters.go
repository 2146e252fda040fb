package datalayer

import (
	"time"

	"github.com/prompt-improver/unifieddb/plugin"
)

// Each named cluster's own section of the health report and of
// ConnectionInfo. With one cluster both are exactly what they were: the
// default cluster's figures, no "clusters" key.

// statusRank orders statuses from best to worst.
var statusRank = map[string]int{StatusHealthy: 0, StatusDegraded: 1, StatusUnhealthy: 2}

// fullReport is the default cluster's report with one section per named
// cluster; the status is the worst of all, the problems all of them.
func (m *Manager) fullReport(now time.Time) HealthReport {
	r := m.healthReport(m.plugin.Status(), now)
	if len(m.cfg.Clusters) == 0 {
		return r
	}
	r.Clusters = make(map[string]HealthReport, len(m.cfg.Clusters))
	for _, name := range m.plugin.ClusterNames() {
		if name == plugin.DefaultCluster {
			continue
		}
		cs, err := m.plugin.StatusOf(name)
		if err != nil {
			continue // every configured cluster has a site; nothing to report
		}
		cr := clusterReport(m.cfg.Clusters[name], cs, now)
		r.Clusters[name] = cr
		mergeStatus(&r, name, cr)
	}
	return r
}

// mergeStatus takes a named cluster's status and problems into r's.
func mergeStatus(r *HealthReport, name string, cr HealthReport) {
	for _, p := range cr.Problems {
		r.Problems = append(r.Problems, "cluster "+name+": "+p)
	}
	if statusRank[cr.Status] > statusRank[r.Status] {
		r.Status = cr.Status
	}
}

// clusterInfos is ConnectionInfo's section of each named cluster: its
// nodes, pools and statement figures by node (modes are counted for the
// whole Manager, in the top-level figures only).
func (m *Manager) clusterInfos() map[string]ConnectionInfo {
	if len(m.cfg.Clusters) == 0 {
		return nil
	}
	out := make(map[string]ConnectionInfo, len(m.cfg.Clusters))
	for _, name := range m.plugin.ClusterNames() {
		if name == plugin.DefaultCluster {
			continue
		}
		cs, err := m.plugin.StatusOf(name)
		if err != nil {
			continue
		}
		mt, err := m.plugin.MetricsOf(name)
		if err != nil {
			continue
		}
		ci := connectionInfo(cs, mt, m.cfg.EnableMetrics)
		for _, n := range mt.Nodes {
			ci.QueriesTotal += n.Queries
			ci.ErrorsTotal += n.Errors
			ci.RetriesTotal += n.Retries
		}
		out[name] = ci
	}
	return out
}
