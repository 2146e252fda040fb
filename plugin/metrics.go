package plugin

import (
	"context"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// LatencyBuckets are the upper bounds of the latency histogram.
var LatencyBuckets = cluster.LatencyBuckets

// Figures is a snapshot of counters.
type Figures = cluster.Figures

// metricsHook counts every attempt per node and per mode: the figures of
// Metrics. An attempt cancelled by its context is not counted as an error.
type metricsHook struct{ p *Plugin }

func (h metricsHook) Statement(ctx context.Context, s Statement) {
	h.p.observe(ctx, s.node, s.Mode, s.Duration, s.Err, s.Attempt)
}

// observe counts one attempt: the metrics hook's work (see metricsOnly).
func (p *Plugin) observe(ctx context.Context, n *cluster.Node, mode Mode, d time.Duration, err error, attempt int) {
	failed := err != nil && ctx.Err() == nil
	n.Stats.Observe(d, failed)
	p.modeStats[mode].Observe(d, failed)
	if attempt > 1 {
		n.Stats.Retried()
		p.modeStats[mode].Retried()
	}
}

// Metrics is every figure the plugin keeps.
type Metrics struct {
	Nodes     map[string]Figures // by node host:port
	Modes     map[string]Figures // by mode name
	Failovers int64
}

// Metrics returns a snapshot of the statement figures (empty when metrics
// are off).
func (p *Plugin) Metrics() Metrics {
	m := Metrics{Nodes: map[string]Figures{}, Modes: map[string]Figures{}, Failovers: p.c.Failovers()}
	for _, n := range p.c.Nodes() {
		m.Nodes[n.Name] = n.Stats.Figures()
	}
	for mode := Mode(0); mode < modeCount; mode++ {
		m.Modes[mode.String()] = p.modeStats[mode].Figures()
	}
	return m
}
