package plugin

import "fmt"

// Per-cluster snapshots for reports and metrics: Status and Metrics are
// the default cluster's (as with one cluster); these name any cluster.

// StatusOf returns the latest health snapshot of the named cluster
// (DefaultCluster included); ErrUnknownCluster for a name no cluster has.
func (p *Plugin) StatusOf(name string) (ClusterStatus, error) {
	s, err := p.siteByName(name)
	if err != nil {
		return ClusterStatus{}, err
	}
	return s.c.Status(), nil
}

// MetricsOf returns the named cluster's statement figures by node. Modes
// are counted for the whole handle: only the default cluster's snapshot
// (Metrics) carries them.
func (p *Plugin) MetricsOf(name string) (Metrics, error) {
	if name == DefaultCluster {
		return p.Metrics(), nil
	}
	s, err := p.siteByName(name)
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{Nodes: map[string]Figures{}, Modes: map[string]Figures{}, Failovers: s.c.Failovers()}
	for _, n := range s.c.Nodes() {
		m.Nodes[n.Name] = n.Stats.Figures()
	}
	return m, nil
}

func (p *Plugin) siteByName(name string) (*site, error) {
	if name == DefaultCluster {
		return &p.site, nil
	}
	if s := p.sites[name]; s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCluster, name)
}
