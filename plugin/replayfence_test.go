package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SyncReplicas fences every replica, not only those in rotation: one that
// was out (down, lagging) during a migration must not come back before it
// replayed it.
func TestSyncReplicasFencesReplicasOutOfRotation(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{})
	ns[2].Report(errShutdown) // n2 is down during the migration
	require.NotContains(t, names(p.c.Topology().Replicas), "n2")
	lsnAnswers(p, map[string]int64{"n0": 500, "n1": 500})

	require.NoError(t, p.SyncReplicas(context.Background(), 50*time.Millisecond))
	assert.Contains(t, names(p.c.Topology().Replicas), "n1", "replayed the migration: stays")

	// n2 comes back, short of the migration.
	for range cluster.ReadmitAfterForTest {
		p.c.ProbeForTest(ns[2], true, 400, 1, nil)
	}
	assert.NotContains(t, names(p.c.Topology().Replicas), "n2", "back before replaying the migration: no reads")
	p.c.ProbeForTest(ns[2], true, 500, 1, nil)
	assert.Contains(t, names(p.c.Topology().Replicas), "n2", "replayed it: back in rotation")
}

func TestSyncReplicasFencesWhenNoReplicaIsInRotation(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{})
	ns[1].Report(errShutdown)
	lsnAnswers(p, map[string]int64{"n0": 500})
	require.NoError(t, p.SyncReplicas(context.Background(), 50*time.Millisecond))
	for range cluster.ReadmitAfterForTest {
		p.c.ProbeForTest(ns[1], true, 400, 1, nil)
	}
	assert.Empty(t, p.c.Topology().Replicas)
}

func names(ns []*cluster.Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}
