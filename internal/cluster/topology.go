package cluster

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Topology is an immutable snapshot of the roles of the nodes. It is swapped
// as a whole (atomic.Pointer), so the query path reads it without locks.
type Topology struct {
	Primary    *Node   // the writable node, nil when none is known
	Replicas   []*Node // nodes in read rotation (by latency for least_latency)
	SplitBrain bool    // more than one writable node
}

// NodeMask is a set of node indexes, for "already tried" during retries.
type NodeMask uint64

func (m NodeMask) Has(n *Node) bool { return n.idx < 64 && m&(1<<uint(n.idx)) != 0 }

func (m *NodeMask) Add(n *Node) {
	if n.idx < 64 {
		*m |= 1 << uint(n.idx)
	}
}

// Replica policies (replica_policy).
const (
	PolicyRoundRobin   = "round_robin"
	PolicyRandom       = "random"
	PolicyLeastLatency = "least_latency"
)

// PickReplica returns a replica in rotation that is not in tried, by the
// plugin's policy, or nil. The round-robin counter is atomic: race-free.
func (c *Cluster) PickReplica(t *Topology, tried NodeMask) *Node {
	n := len(t.Replicas)
	if n == 0 {
		return nil
	}
	start := c.PolicyStart(n)
	for i := 0; i < n; i++ {
		r := t.Replicas[(start+i)%n]
		if !tried.Has(r) {
			return r
		}
	}
	return nil
}

// PolicyStart is where a walk over n replicas in rotation starts, by the
// plugin's policy.
func (c *Cluster) PolicyStart(n int) int {
	if n == 1 {
		return 0 // no choice: do not write the shared rotation counter
	}
	switch c.opts.ReplicaPolicy {
	case PolicyLeastLatency:
		return 0
	case PolicyRandom:
		return rand.N(n)
	}
	return int(c.rr.Add(1) % uint64(n))
}

// betterPrimary: a node a probe found writable beats one only assumed to be
// (Nodes[0] before its first probe); between two found writable (split
// brain), the newer timeline is the one that was promoted last.
func betterPrimary(n, than *Node) bool {
	if n.st.answered != than.st.answered {
		return n.st.answered
	}
	return n.st.timeline > than.st.timeline
}

// otherTimeline: replica n streams another timeline than primary's (it
// followed a primary that has since been replaced, and was not repointed
// yet). Its WAL positions say nothing of the primary's: it may be ahead of
// the new primary in position and still miss its writes, or show writes
// the new history does not have. It takes no reads until it follows the
// primary. 0 is an unknown timeline.
func otherTimeline(n, primary *Node) bool {
	return primary != nil && n.st.role == RoleReplica && n.st.timeline != 0 && primary.st.timeline != 0 &&
		n.st.timeline != primary.st.timeline
}

// rebuild derives the topology from the node states and, when it changed,
// makes it the snapshot.
func (m *machine) rebuild(fx []effect, now time.Time) []effect {
	old := m.topo
	var primary *Node
	writable := 0
	for _, n := range m.nodes {
		if !n.st.up || !n.st.writable() {
			continue
		}
		if !m.enableHA && n.idx != 0 {
			// Never the primary, so no split brain: behind a proxy, the
			// replicas' port may reach the new primary for a moment.
			continue
		}
		if n.st.answered {
			writable++ // a role only assumed at start-up is no split brain
		}
		if primary == nil || betterPrimary(n, primary) {
			primary = n
		}
	}
	var replicas []*Node
	for _, n := range m.nodes {
		n.st.inRotation = n == primary
		pending := n.st.lagPending
		n.st.lagPending = false
		n.st.outReason = ""
		if n == primary || !n.st.up || !n.st.readable() {
			continue
		}
		if n.st.role == RoleReplica && n.st.lsn < m.minReplay {
			n.st.outReason = "has not replayed the latest migration yet"
			continue // has not replayed a migration yet (SyncReplicas)
		}
		if otherTimeline(n, primary) {
			n.st.outReason = otherTimelineReason(n, primary)
			continue
		}
		var known bool
		n.st.lagBytes, n.st.lag, known = m.lagOf(n, primary, now)
		if m.maxLag > 0 && (!known || n.st.lag > m.maxLag) {
			// Unknown lag is not fresh. While it may still be within the
			// limit, the node is probed fast (probeDelay), and at once
			// when it starts to be (a new Manager, a new primary), so a
			// replica of an idle or busy cluster that is near is back
			// within a probe or two.
			n.st.lagPending = !known && n.st.lag <= m.maxLag
			if n.st.lagPending && !pending {
				fx = append(fx, effect{kind: effKick, node: n})
			}
			n.st.outReason = m.lagReason(n, primary, known)
			continue
		}
		n.st.inRotation = true
		replicas = append(replicas, n)
	}
	if m.leastLatency {
		slices.SortStableFunc(replicas, func(a, b *Node) int { return int(a.st.latency - b.st.latency) })
	}
	t := &Topology{Primary: primary, Replicas: replicas, SplitBrain: writable > 1}
	if old.Primary == t.Primary && old.SplitBrain == t.SplitBrain && slices.Equal(old.Replicas, t.Replicas) {
		return fx
	}
	m.topo = t
	if t.SplitBrain && !old.SplitBrain {
		fx = append(fx, effect{kind: effSplitBrain, to: primary})
	}
	if old.Primary != primary {
		fx = m.primaryChanged(fx, old.Primary, primary, now)
	}
	return append(fx, effect{kind: effTopology, to: primary})
}

func (m *machine) primaryChanged(fx []effect, old, primary *Node, now time.Time) []effect {
	m.minReplay = 0 // WAL positions of another primary's history
	if primary == nil {
		m.lostPrimary, m.lostAt = old, now
		fx = append(fx, effect{kind: effNoPrimary, from: old})
	}
	fx = append(fx, effect{kind: effPrimaryChanged, from: old, to: primary})
	if primary == nil {
		return fx
	}
	from, since := old, now
	if from == nil {
		from, since = m.lostPrimary, m.lostAt
	}
	m.lostPrimary = nil
	// A node whose role no probe ever confirmed (Nodes[0], assumed primary
	// at start) was never a primary: losing it is discovery, not failover.
	if from == nil || from == primary || !m.discovered() || !from.st.answered {
		return append(fx, effect{kind: effPrimaryFound, to: primary})
	}
	m.failovers++
	return append(fx, effect{kind: effFailover, from: from, to: primary, took: now.Sub(since), at: now})
}

func nameOf(n *Node) string {
	if n == nil {
		return ""
	}
	return n.Name
}
