package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// After a failover, a replica still on the old primary's timeline is out of
// rotation, and the reason says so, not "replication lag 0s".
func TestRotationReasonAfterFailover(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true, MaxReplicationLag: 10 * time.Second})
	probe(m, clock, ns[0], probeResult{err: errRefused})
	probe(m, clock, ns[2], primaryAt(150, 2))
	require.Equal(t, ns[2], m.topo.Primary)

	probe(m, clock, ns[1], replicaAt(120, 0)) // no WAL receiver: keeps timeline 1
	assert.False(t, ns[1].st.inRotation)
	assert.Equal(t, "on timeline 1, but the primary n2 is on timeline 2; no WAL receiver: it streams from no server (its upstream is down or gone)",
		ns[1].st.outReason)

	// Still streaming from the old primary (say, restarted standalone).
	r := replicaAt(120, 1)
	r.receiving, r.upstream = true, "127.0.0.1:5000"
	probe(m, clock, ns[1], r)
	assert.Equal(t, "on timeline 1, but the primary n2 is on timeline 2; it follows 127.0.0.1:5000, which is not the primary", ns[1].st.outReason)
	assert.Equal(t, "127.0.0.1:5000", ns[1].st.upstream)

	// Repointed at the new primary: back in rotation, no reason.
	r = replicaAt(150, 2)
	r.receiving, r.upstream = true, "n2"
	probe(m, clock, ns[1], r)
	assert.True(t, ns[1].st.inRotation)
	assert.Empty(t, ns[1].st.outReason)
	assert.Empty(t, ns[2].st.outReason, "the primary has none")
}

func TestRotationReasonLag(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true, MaxReplicationLag: 2 * time.Second})
	clock.advance(time.Second)
	probe(m, clock, ns[0], primaryAt(200, 1))
	clock.advance(3 * time.Second)
	r := replicaAt(100, 1)
	r.receiving, r.upstream = true, "n0"
	probe(m, clock, ns[1], r)
	assert.False(t, ns[1].st.inRotation)
	assert.Equal(t, "replication lag 3s, over max_replication_lag 2s", ns[1].st.outReason)

	m.historyOf = nil
	m.rebuild(nil, clock.now())
	assert.Equal(t, "replication lag unknown", ns[1].st.outReason)

	m.minReplay = 150
	m.rebuild(nil, clock.now())
	assert.Equal(t, "has not replayed the latest migration yet", ns[1].st.outReason)
}
