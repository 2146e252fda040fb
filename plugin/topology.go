package plugin

import (
	"math/rand/v2"
)

// topology is an immutable snapshot of the roles of the nodes. It is swapped
// as a whole (atomic.Pointer), so the query path reads it without locks.
type topology struct {
	primary    *node   // the writable node, nil when none is known
	replicas   []*node // nodes in read rotation (by latency for least_latency)
	splitBrain bool    // more than one writable node
}

// nodeMask is a set of node indexes, for "already tried" during retries.
type nodeMask uint64

func (m nodeMask) has(n *node) bool { return n.idx < 64 && m&(1<<uint(n.idx)) != 0 }

func (m *nodeMask) add(n *node) {
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

// pickReplica returns a replica in rotation that is not in tried, by the
// plugin's policy, or nil. The round-robin counter is atomic: race-free.
func (p *Plugin) pickReplica(t *topology, tried nodeMask) *node {
	n := len(t.replicas)
	if n == 0 {
		return nil
	}
	var start int
	switch p.opts.ReplicaPolicy {
	case PolicyLeastLatency:
		start = 0
	case PolicyRandom:
		start = rand.N(n)
	default:
		start = int(p.rr.Add(1) % uint64(n))
	}
	for i := 0; i < n; i++ {
		r := t.replicas[(start+i)%n]
		if !tried.has(r) {
			return r
		}
	}
	return nil
}

// betterPrimary: a node a probe found writable beats one only assumed to be
// (Nodes[0] before its first probe); between two found writable (split
// brain), the newer timeline is the one that was promoted last.
func betterPrimary(n, than *node) bool {
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
func otherTimeline(n, primary *node) bool {
	return primary != nil && n.st.role == RoleReplica && n.st.timeline != 0 && primary.st.timeline != 0 &&
		n.st.timeline != primary.st.timeline
}

func nameOf(n *node) string {
	if n == nil {
		return ""
	}
	return n.name
}
