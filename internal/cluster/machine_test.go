package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The failover machine's transitions, one event at a time, with no server
// and a fake clock.

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// testMachine: n nodes n0..n(k-1), Nodes[0] assumed primary, nothing probed.
func testMachine(t *testing.T, k int, opts Options) (*machine, []*Node, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Unix(1000, 0)}
	nodes := make([]*Node, k)
	for i := range nodes {
		nodes[i] = &Node{idx: i, Name: fmt.Sprintf("n%d", i), Addr: Addr{"127.0.0.1", 5000 + i}}
	}
	return newMachine(&opts, nodes, clock.now), nodes, clock
}

func primaryAt(lsn int64, tl int) probeResult {
	return probeResult{lsn: lsn, timeline: tl, latency: time.Millisecond}
}

func replicaAt(lsn int64, tl int) probeResult {
	return probeResult{inRecovery: true, lsn: lsn, timeline: tl, latency: time.Millisecond}
}

var (
	errRefused = &net0pError{syscall.ECONNREFUSED}
	errHung    = fmt.Errorf("probe: %w", context.DeadlineExceeded)
	errAuth    = &pgconn.PgError{Code: "28P01", Message: "password authentication failed"}
	errReadOnl = &pgconn.PgError{Code: codeReadOnlyTransaction, Message: "cannot execute INSERT in a read-only transaction"}

	errReset    = io.ErrUnexpectedEOF // the connection broke: maybe after sending
	errShutdown = &pgconn.PgError{Code: codeAdminShutdown, Message: "terminating connection due to administrator command"}
)

func names(ns []*Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

// net0pError stands for a dial error: connection-class by its errno.
type net0pError struct{ errno syscall.Errno }

func (e *net0pError) Error() string { return "dial tcp: " + e.errno.Error() }
func (e *net0pError) Unwrap() error { return e.errno }

func probe(m *machine, clock *fakeClock, n *Node, r probeResult) (*Topology, []effect) {
	r.at = clock.now()
	return m.Apply(event{kind: evProbe, node: n, probe: r})
}

func kinds(fx []effect) []effectKind {
	out := make([]effectKind, len(fx))
	for i, f := range fx {
		out[i] = f.kind
	}
	return out
}

func has(fx []effect, k effectKind) bool { return slices.Contains(kinds(fx), k) }

func find(fx []effect, k effectKind) effect {
	for _, f := range fx {
		if f.kind == k {
			return f
		}
	}
	return effect{}
}

// healthy: n0 primary at lsn 100 on timeline 1, the others replicas caught up.
func healthy(t *testing.T, k int, opts Options) (*machine, []*Node, *fakeClock) {
	t.Helper()
	m, ns, clock := testMachine(t, k, opts)
	probe(m, clock, ns[0], primaryAt(100, 1))
	for _, n := range ns[1:] {
		probe(m, clock, n, replicaAt(100, 1))
	}
	require.True(t, m.discovered())
	require.Equal(t, ns[0], m.topo.Primary)
	require.Len(t, m.topo.Replicas, k-1)
	return m, ns, clock
}

func TestMachineStartAssumesNodes0ThenProbesDecide(t *testing.T) {
	m, ns, clock := testMachine(t, 3, Options{EnableHA: true})
	assert.Equal(t, ns[0], m.topo.Primary, "Nodes[0] is assumed the primary before any probe")
	assert.False(t, m.discovered())

	// Nodes[0] turns out to be a replica and n1 the primary: discovery, no failover.
	_, fx := probe(m, clock, ns[0], replicaAt(100, 1))
	assert.Nil(t, m.topo.Primary)
	assert.True(t, has(fx, effNoPrimary))
	_, fx = probe(m, clock, ns[1], primaryAt(100, 1))
	assert.Equal(t, ns[1], m.topo.Primary)
	assert.True(t, has(fx, effPrimaryFound), "found, not failed over: %v", kinds(fx))
	assert.False(t, has(fx, effFailover))
	probe(m, clock, ns[2], replicaAt(100, 1))
	assert.True(t, m.discovered())
	assert.Zero(t, m.failovers)
	assert.Equal(t, []*Node{ns[0], ns[2]}, m.topo.Replicas)
}

func TestMachinePrimaryLostAndPromoted(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true})
	epoch := ns[1].st.epoch

	clock.advance(time.Second)
	top, fx := probe(m, clock, ns[0], probeResult{err: errRefused})
	assert.Nil(t, top.Primary, "a primary whose probe fails takes no writes")
	assert.Equal(t, []effectKind{effNodeDown, effCloseConns, effNoPrimary, effPrimaryChanged, effTopology}, kinds(fx))
	assert.False(t, find(fx, effCloseConns).hung)
	assert.Equal(t, clock.now(), m.lostAt)
	assert.Equal(t, ns[0], find(fx, effPrimaryChanged).from)
	assert.Nil(t, find(fx, effPrimaryChanged).to)

	clock.advance(1500 * time.Millisecond)
	top, fx = probe(m, clock, ns[1], primaryAt(200, 2))
	assert.Equal(t, ns[1], top.Primary, "the promoted replica takes writes at its first probe")
	f := find(fx, effFailover)
	require.Equal(t, effFailover, f.kind, "%v", kinds(fx))
	assert.Equal(t, ns[0], f.from)
	assert.Equal(t, ns[1], f.to)
	assert.Equal(t, 1500*time.Millisecond, f.took, "from the loss to the promotion, by the machine's clock")
	assert.EqualValues(t, 1, m.failovers)
	assert.Greater(t, ns[1].st.epoch, epoch, "writable again: connections from before are stale")
	assert.Nil(t, m.lostPrimary)
}

func TestMachineHungProbeClosesSockets(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	_, fx := probe(m, clock, ns[1], probeResult{err: errHung})
	f := find(fx, effCloseConns)
	assert.True(t, f.hung)
	assert.Empty(t, m.topo.Replicas)

	// An error that is not the node's (bad password): down, sockets kept.
	_, fx = probe(m, clock, ns[0], probeResult{err: errAuth})
	assert.False(t, has(fx, effCloseConns), "%v", kinds(fx))
	assert.True(t, has(fx, effNodeDown))
	assert.Contains(t, ns[0].st.lastErr, "28P01")
}

func TestMachineLastErrorIsRedacted(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	ns[1].secret = "s3cret"
	probe(m, clock, ns[1], probeResult{err: errors.New("auth for s3cret failed")})
	assert.NotContains(t, ns[1].st.lastErr, "s3cret")
}

func TestMachineDemotedPrimaryIsDrained(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	epoch := ns[0].st.epoch
	top, fx := probe(m, clock, ns[0], replicaAt(100, 1))
	assert.Nil(t, top.Primary)
	assert.True(t, has(fx, effDrain))
	assert.Greater(t, ns[0].st.epoch, epoch)

	// A primary set read-only for maintenance: drained, serves reads.
	m, ns, clock = healthy(t, 2, Options{EnableHA: true})
	r := primaryAt(100, 1)
	r.readOnly = true
	top, fx = probe(m, clock, ns[0], r)
	assert.Nil(t, top.Primary)
	assert.True(t, has(fx, effDrain))
	assert.Contains(t, top.Replicas, ns[0])
}

func TestMachineSplitBrainNewestTimelineWins(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true})
	top, fx := probe(m, clock, ns[2], primaryAt(150, 2))
	assert.Equal(t, ns[2], top.Primary, "the newer timeline was promoted last")
	assert.True(t, top.SplitBrain)
	assert.True(t, has(fx, effSplitBrain))
	_, fx = probe(m, clock, ns[0], primaryAt(120, 1))
	assert.False(t, has(fx, effSplitBrain), "logged once per split brain")
	assert.True(t, m.topo.SplitBrain)
	top, _ = probe(m, clock, ns[0], replicaAt(150, 2))
	assert.False(t, top.SplitBrain)
	assert.Equal(t, ns[2], top.Primary)
}

func TestMachineFlappingNodeWaitsTwoProbes(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true})
	probe(m, clock, ns[2], probeResult{err: errRefused})
	assert.NotContains(t, m.topo.Replicas, ns[2])
	_, fx := probe(m, clock, ns[2], replicaAt(100, 1))
	assert.False(t, ns[2].st.up, "one good probe after a failure is not enough")
	assert.False(t, has(fx, effNodeUp))
	probe(m, clock, ns[2], probeResult{err: errRefused})
	probe(m, clock, ns[2], replicaAt(100, 1))
	_, fx = probe(m, clock, ns[2], replicaAt(100, 1))
	assert.True(t, ns[2].st.up)
	assert.True(t, has(fx, effNodeUp))
	assert.Contains(t, m.topo.Replicas, ns[2])
}

func TestMachineWritableNodeReadmittedAtOnceWithoutPrimary(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	probe(m, clock, ns[0], probeResult{err: errRefused})
	probe(m, clock, ns[1], probeResult{err: errRefused})
	top, _ := probe(m, clock, ns[1], primaryAt(200, 2))
	assert.Equal(t, ns[1], top.Primary, "every write waits: a promoted node is not kept out one more probe")
}

func TestMachineLagInAndOut(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true, MaxReplicationLag: 2 * time.Second})
	// The primary moves on; the replica stays at 100.
	clock.advance(time.Second)
	probe(m, clock, ns[0], primaryAt(200, 1))
	clock.advance(time.Second)
	probe(m, clock, ns[1], replicaAt(100, 1))
	assert.Contains(t, m.topo.Replicas, ns[1], "1 s behind, within 2 s")
	assert.EqualValues(t, 100, ns[1].st.lagBytes)
	assert.Equal(t, time.Second, ns[1].st.lag)

	clock.advance(2 * time.Second)
	probe(m, clock, ns[1], replicaAt(100, 1))
	assert.NotContains(t, m.topo.Replicas, ns[1], "3 s behind: out of rotation")
	assert.False(t, ns[1].st.inRotation)

	probe(m, clock, ns[1], replicaAt(200, 1))
	assert.Contains(t, m.topo.Replicas, ns[1], "caught up: back in rotation")
	assert.Zero(t, ns[1].st.lag)
}

func TestMachineUnknownLagIsNotZero(t *testing.T) {
	// A new primary without history while the replica is behind it: the lag
	// cannot be known, and a max lag keeps the replica out.
	m, ns, clock := testMachine(t, 2, Options{EnableHA: true, MaxReplicationLag: time.Second})
	probe(m, clock, ns[1], replicaAt(50, 1))
	probe(m, clock, ns[0], primaryAt(100, 1))
	probe(m, clock, ns[1], replicaAt(50, 1))
	assert.NotContains(t, m.topo.Replicas, ns[1], "short of the first sample: behind since before the history")
	probe(m, clock, ns[0], primaryAt(120, 1))
	probe(m, clock, ns[1], replicaAt(110, 1))
	assert.Contains(t, m.topo.Replicas, ns[1], "past the first sample: lag known")
	m.historyOf = nil
	m.rebuild(nil, clock.now())
	assert.NotContains(t, m.topo.Replicas, ns[1])
}

func TestMachineStandbyKeepsItsTimelineWhenNotStreaming(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	probe(m, clock, ns[1], replicaAt(100, 0))
	assert.Equal(t, 1, ns[1].st.timeline, "0 (not streaming now) keeps the last timeline streamed")
	probe(m, clock, ns[1], replicaAt(100, 2))
	assert.Equal(t, 2, ns[1].st.timeline)
	assert.NotContains(t, m.topo.Replicas, ns[1], "another timeline than the primary's takes no reads")
}

func TestMachinePassiveConnectionError(t *testing.T) {
	m, ns, _ := healthy(t, 3, Options{EnableHA: true})
	top, fx := m.Apply(event{kind: evConnError, node: ns[1], err: errRefused})
	assert.NotContains(t, top.Replicas, ns[1], "out at once, before its probe")
	assert.Equal(t, []effectKind{effNodeDown, effTopology, effKick}, kinds(fx))

	// Again on the node already down: only a probe.
	_, fx = m.Apply(event{kind: evConnError, node: ns[1], err: errRefused})
	assert.Equal(t, []effectKind{effKick}, kinds(fx))

	// On the primary: every node is probed at once, to find the new one.
	top, fx = m.Apply(event{kind: evConnError, node: ns[0], err: errRefused})
	assert.Nil(t, top.Primary)
	assert.True(t, has(fx, effKickAll))
	assert.True(t, has(fx, effNoPrimary))
}

func TestMachineRefusedWrite(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	epoch := ns[0].st.epoch
	top, fx := m.Apply(event{kind: evRefused, node: ns[0], err: errReadOnl})
	assert.Nil(t, top.Primary, "a node that refused a write takes no more")
	assert.NotContains(t, top.Replicas, ns[0], "nor reads: it may be a demoted primary still behind")
	for _, k := range []effectKind{effReconnect, effDrain, effKickAll, effKick, effPrimaryChanged} {
		assert.True(t, has(fx, k), "effect %d missing from %v", k, kinds(fx))
	}
	assert.Greater(t, ns[0].st.epoch, epoch)

	// Many refused writes make one change.
	_, fx = m.Apply(event{kind: evRefused, node: ns[0], err: errReadOnl})
	assert.Equal(t, []effectKind{effKick}, kinds(fx))

	// Its probe in a new session decides: writable again.
	top, _ = probe(m, clock, ns[0], primaryAt(100, 1))
	assert.Equal(t, ns[0], top.Primary)
	assert.False(t, ns[0].st.refused)
}

func TestMachineWithoutHAOnlyNodes0IsPrimary(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{})
	top, _ := probe(m, clock, ns[1], primaryAt(300, 2))
	assert.Equal(t, ns[0], top.Primary)
	assert.False(t, top.SplitBrain)
	probe(m, clock, ns[0], probeResult{err: errRefused})
	assert.Nil(t, m.topo.Primary, "no failover without enable_ha")
}

func TestMachineLeastLatencyOrder(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true, ReplicaPolicy: PolicyLeastLatency})
	slow, fast := replicaAt(100, 1), replicaAt(100, 1)
	slow.latency, fast.latency = 9*time.Millisecond, 2*time.Millisecond
	probe(m, clock, ns[1], slow)
	probe(m, clock, ns[2], fast)
	assert.Equal(t, []*Node{ns[2], ns[1]}, m.topo.Replicas)
}

func TestMachineMembers(t *testing.T) {
	m, ns, clock := healthy(t, 3, Options{EnableHA: true})
	extra := &Node{idx: 3, Name: "n3"}
	views := []Member{{Role: "leader"}, {Role: "replica"}, {Role: "replica", Suspect: true}, {}}
	top, fx := m.Apply(event{kind: evMembers, members: []*Node{ns[0], ns[1], ns[2], extra}, views: views})
	assert.Equal(t, []effectKind{effKick}, kinds(fx), "only the suspect the probes have up is probed at once")
	assert.Equal(t, ns[2], fx[0].node)
	assert.NotContains(t, top.Replicas, extra, "a new node takes traffic once its probe answers")
	assert.False(t, m.discovered())
	probe(m, clock, extra, replicaAt(100, 1))
	assert.Contains(t, m.topo.Replicas, extra)

	top, _ = m.Apply(event{kind: evMembers, members: []*Node{ns[0], extra}, views: []Member{{}, {}}})
	assert.Equal(t, []*Node{extra}, top.Replicas, "removed nodes leave the snapshot at once")
	assert.Equal(t, "", ns[0].st.srcRole)
}

func TestMachineFenceAndReplay(t *testing.T) {
	m, ns, _ := healthy(t, 3, Options{EnableHA: true})
	top, _ := m.Apply(event{kind: evFence, lsn: 150})
	assert.Empty(t, top.Replicas, "replicas short of a migration leave rotation")
	_, fx := m.Apply(event{kind: evFence, lsn: 120})
	assert.Empty(t, fx, "a lower fence changes nothing")
	m.Apply(event{kind: evReplayed, node: ns[1], lsn: 160})
	assert.EqualValues(t, 160, ns[1].st.lsn)
	m.rebuild(nil, time.Unix(2000, 0))
	assert.Equal(t, []*Node{ns[1]}, m.topo.Replicas)
}

func TestMachineClosedChangesNothing(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	before := m.topo
	_, fx := m.Apply(event{kind: evClose})
	assert.Empty(t, fx)
	top, fx := probe(m, clock, ns[0], probeResult{err: errHung})
	assert.Same(t, before, top)
	assert.Empty(t, fx, "a probe cancelled by Close: no node down, no hook")
	assert.True(t, ns[0].st.up)
}

func TestMachineUnchangedTopologyKeepsTheSnapshot(t *testing.T) {
	m, ns, clock := healthy(t, 2, Options{EnableHA: true})
	before := m.topo
	top, fx := probe(m, clock, ns[1], replicaAt(100, 1))
	assert.Same(t, before, top, "the same routing: the same snapshot, no wake-up of waiting statements")
	assert.Empty(t, fx)
}
