package main

import (
	"fmt"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// discoveryText says where the node list came from, for health and doctor.
func discoveryText(d datalayer.DiscoveryHealth, nodes int) string {
	if d.LastRefresh.IsZero() && d.IntervalMs == 0 {
		return fmt.Sprintf("%s: %d node(s) from host and replica_hosts", d.Source, nodes)
	}
	every := time.Duration(d.IntervalMs * float64(time.Millisecond))
	s := fmt.Sprintf("%s: %d node(s), refreshed at %s (every %s), %d added, %d removed since start",
		d.Source, nodes, d.LastRefresh.Format(time.RFC3339), every, d.Added, d.Removed)
	if d.Error != "" {
		s += "; last lookup failed: " + d.Error
	}
	return s
}

// discovery is the doctor's line about the node list: warn while lookups
// fail (the nodes still serve; members added or removed are not seen).
func (d *doctor) discovery(rep datalayer.HealthReport) {
	status := "ok"
	if rep.Discovery.Error != "" {
		status = "warn"
	}
	d.add(status, "discovery", "%s", discoveryText(rep.Discovery, len(rep.Nodes)))
}

// sourceView is a node's role and state as the discovery source sees them.
func sourceView(n datalayer.NodeHealth) string {
	if n.SourceRole == "" && n.SourceState == "" {
		return "-"
	}
	return n.SourceRole + "/" + n.SourceState
}
