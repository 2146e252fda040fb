package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SyncReplicas fences every replica, not only those in rotation: one that
// was out (down, lagging) during a migration must not come back before it
// replayed it.
func TestSyncReplicasFencesReplicasOutOfRotation(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{})
	p.closing = make(chan struct{})
	p.Report(ns[2], errShutdown) // n2 is down during the migration
	require.NotContains(t, names(p.topo.Load().Replicas), "n2")
	lsnAnswers(p, map[string]int64{"n0": 500, "n1": 500})

	require.NoError(t, p.SyncReplicas(context.Background(), 50*time.Millisecond))
	assert.Contains(t, names(p.topo.Load().Replicas), "n1", "replayed the migration: stays")

	// n2 comes back, short of the migration.
	for range readmitAfter {
		p.step(event{kind: evProbe, node: ns[2], probe: probeResult{inRecovery: true, lsn: 400, timeline: 1, at: time.Now()}})
	}
	assert.NotContains(t, names(p.topo.Load().Replicas), "n2", "back before replaying the migration: no reads")
	p.step(event{kind: evProbe, node: ns[2], probe: probeResult{inRecovery: true, lsn: 500, timeline: 1, at: time.Now()}})
	assert.Contains(t, names(p.topo.Load().Replicas), "n2", "replayed it: back in rotation")
}

func TestSyncReplicasFencesWhenNoReplicaIsInRotation(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{})
	p.closing = make(chan struct{})
	p.Report(ns[1], errShutdown)
	lsnAnswers(p, map[string]int64{"n0": 500})
	require.NoError(t, p.SyncReplicas(context.Background(), 50*time.Millisecond))
	for range readmitAfter {
		p.step(event{kind: evProbe, node: ns[1], probe: probeResult{inRecovery: true, lsn: 400, timeline: 1, at: time.Now()}})
	}
	assert.Empty(t, p.topo.Load().Replicas)
}

func names(ns []*Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}
