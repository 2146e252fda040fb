package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lag at start-up: before the primary's first sample the Manager cannot
// know how long a replica behind it has been behind, so such a replica is
// not fresh until its lag is known.

func TestMachineReplicaBehindAtStartIsNotFresh(t *testing.T) {
	m, ns, clock := testMachine(t, 2, Options{EnableHA: true, MaxReplicationLag: 2 * time.Second})
	assert.Empty(t, m.topo.Replicas, "before any probe a replica's lag is unknown")

	probe(m, clock, ns[1], replicaAt(50, 1))
	assert.Empty(t, m.topo.Replicas, "no primary answered yet: nothing to measure against")
	probe(m, clock, ns[0], primaryAt(1000, 1))
	assert.NotContains(t, m.topo.Replicas, ns[1], "behind the primary's first sample: behind since an unknown time")
	assert.True(t, ns[1].st.lagPending, "maybe within max: probed fast until known")

	clock.advance(time.Second)
	probe(m, clock, ns[0], primaryAt(1000, 1))
	probe(m, clock, ns[1], replicaAt(500, 1))
	assert.NotContains(t, m.topo.Replicas, ns[1], "still short of the first sample")
	assert.Equal(t, time.Second, ns[1].st.lag, "the lag shown is a lower bound")

	clock.advance(1500 * time.Millisecond)
	probe(m, clock, ns[1], replicaAt(500, 1))
	assert.NotContains(t, m.topo.Replicas, ns[1])
	assert.False(t, ns[1].st.lagPending, "at least 2.5 s behind: known to be too far, probed at the usual pace")

	// The primary writes on; the replica passes the first sample: its lag
	// is known from the history and decides.
	probe(m, clock, ns[0], primaryAt(2000, 1)) // at 2.5 s
	clock.advance(time.Second)
	probe(m, clock, ns[1], replicaAt(1500, 1))
	assert.Equal(t, time.Second, ns[1].st.lag, "the first WAL it lacks was the primary's 1 s ago")
	assert.Contains(t, m.topo.Replicas, ns[1], "known and within max")
}

func TestMachineIdleReplicaIsFreshAtOnce(t *testing.T) {
	m, ns, clock := testMachine(t, 3, Options{EnableHA: true, MaxReplicationLag: 2 * time.Second})
	probe(m, clock, ns[1], replicaAt(1000, 1))
	probe(m, clock, ns[0], primaryAt(1000, 1))
	assert.Equal(t, []*Node{ns[1]}, m.topo.Replicas, "at the primary's position: fresh at its first probe")

	// A busy replica a little behind is known at its next probe, which
	// comes at once and then fast.
	probe(m, clock, ns[2], replicaAt(990, 1))
	assert.NotContains(t, m.topo.Replicas, ns[2])
	assert.True(t, ns[2].st.lagPending, "probed again fast")
	probe(m, clock, ns[2], replicaAt(1010, 1))
	assert.Contains(t, m.topo.Replicas, ns[2])
	assert.False(t, ns[2].st.lagPending)
}

func TestMachineNoLimitKeepsReplicasInRotationFromTheStart(t *testing.T) {
	m, ns, clock := testMachine(t, 2, Options{EnableHA: true})
	assert.Equal(t, []*Node{ns[1]}, m.topo.Replicas, "max_replication_lag 0: lag never matters")
	probe(m, clock, ns[0], primaryAt(1000, 1))
	probe(m, clock, ns[1], replicaAt(50, 1))
	assert.Equal(t, []*Node{ns[1]}, m.topo.Replicas)
}

func TestMachineNewPrimaryProbesReplicasBehindItAtOnce(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true, MaxReplicationLag: 2 * time.Second})
	probe(m, clock, ns[0], probeResult{err: errRefused})
	probe(m, clock, ns[2], replicaAt(150, 1))
	_, fx := probe(m, clock, ns[1], primaryAt(200, 1))
	assert.Equal(t, ns[1], m.topo.Primary)
	assert.NotContains(t, m.topo.Replicas, ns[2], "behind a primary without history: lag unknown")
	assert.True(t, has(fx, effKick), "%v", kinds(fx))
	assert.Equal(t, ns[2], find(fx, effKick).node, "probed at once, not at the next interval")
	probe(m, clock, ns[2], replicaAt(200, 1))
	assert.Contains(t, m.topo.Replicas, ns[2])
}

func TestWaitReadyWaitsBrieflyForLagsBeingLearnt(t *testing.T) {
	p, ns := routingCluster(t, 2, Options{MaxReplicationLag: 2 * time.Second})
	p.step(event{kind: evProbe, node: ns[0], probe: probeResult{lsn: 200, timeline: 1, at: time.Now()}})
	p.step(event{kind: evProbe, node: ns[1], probe: probeResult{inRecovery: true, lsn: 150, timeline: 1, at: time.Now()}})
	p.m.history = p.m.history[len(p.m.history)-1:] // as if 200 were the first sample
	p.step(event{kind: evProbe, node: ns[1], probe: probeResult{inRecovery: true, lsn: 150, timeline: 1, at: time.Now()}})
	p.stateMu.Lock()
	require.True(t, p.m.lagPending())
	p.stateMu.Unlock()

	go func() {
		time.Sleep(50 * time.Millisecond)
		p.step(event{kind: evProbe, node: ns[1], probe: probeResult{inRecovery: true, lsn: 200, timeline: 1, at: time.Now()}})
	}()
	start := time.Now()
	require.NoError(t, p.WaitReady(context.Background()))
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "waited for the replica's next probe")
	assert.Equal(t, []string{"n1"}, names(p.topo.Load().Replicas))

	// A replica that stays unknown delays start-up by readyLagWait at most.
	p.step(event{kind: evProbe, node: ns[0], probe: probeResult{lsn: 300, timeline: 1, at: time.Now()}})
	p.m.history = p.m.history[len(p.m.history)-1:]
	p.step(event{kind: evProbe, node: ns[1], probe: probeResult{inRecovery: true, lsn: 250, timeline: 1, at: time.Now()}})
	start = time.Now()
	require.NoError(t, p.WaitReady(context.Background()))
	assert.Less(t, time.Since(start), readyLagWait+2*time.Second)
}
