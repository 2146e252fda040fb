package plugin

import (
	"math/rand/v2"
	"slices"
	"time"
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

// lsnSample is the primary's WAL position at a time.
type lsnSample struct {
	at  time.Time
	lsn int64
}

const maxHistory = 1024

// recordLSN keeps the history of the primary's WAL position, from which a
// replica's lag in time is read: how long ago the primary first had WAL the
// replica has not replayed. Unlike now() - pg_last_xact_replay_timestamp(),
// this stays 0 on an idle primary.
func (p *Plugin) recordLSN(n *node, at time.Time, lsn int64) {
	if p.historyOf != n {
		p.historyOf, p.history = n, p.history[:0]
	}
	if k := len(p.history); k > 0 && p.history[k-1].lsn >= lsn {
		return
	}
	if len(p.history) == maxHistory {
		p.history = append(p.history[:0], p.history[maxHistory/2:]...)
	}
	p.history = append(p.history, lsnSample{at: at, lsn: lsn})
}

// lagOf returns a replica's lag behind primary, measured against the lost
// primary's last known position when no primary is known. known is false
// when there is nothing to measure against (no primary seen yet, or a new
// primary without history while the replica is behind it): a lag that cannot
// be known is not taken for 0.
func (p *Plugin) lagOf(n, primary *node, now time.Time) (bytes int64, lag time.Duration, known bool) {
	if n.st.role != RoleReplica {
		return 0, 0, true
	}
	ref := primary
	if ref == nil {
		ref = p.historyOf
	}
	if ref == nil {
		return 0, 0, false
	}
	if n.st.lsn >= ref.st.lsn {
		return 0, 0, true
	}
	if p.historyOf != ref {
		return ref.st.lsn - n.st.lsn, 0, false
	}
	bytes = ref.st.lsn - n.st.lsn
	for _, s := range p.history {
		if s.lsn > n.st.lsn {
			return bytes, now.Sub(s.at), true
		}
	}
	return bytes, 0, true
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

// rebuildLocked derives a new topology from the node states and swaps it in
// when it changed. Caller holds stateMu.
func (p *Plugin) rebuildLocked(ev *events, now time.Time) {
	old := p.topo.Load()
	var primary *node
	writable := 0
	for _, n := range p.nodeList() {
		if !n.st.up || !n.st.writable() {
			continue
		}
		if !p.opts.EnableHA && n.idx != 0 {
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
	var replicas []*node
	for _, n := range p.nodeList() {
		n.st.inRotation = n == primary
		if n == primary || !n.st.up || !n.st.readable() {
			continue
		}
		if n.st.role == RoleReplica && n.st.lsn < p.minReplay {
			continue // has not replayed a migration yet (SyncReplicas)
		}
		if otherTimeline(n, primary) {
			continue
		}
		var known bool
		n.st.lagBytes, n.st.lag, known = p.lagOf(n, primary, now)
		if p.opts.MaxReplicationLag > 0 && (!known || n.st.lag > p.opts.MaxReplicationLag) {
			continue
		}
		n.st.inRotation = true
		replicas = append(replicas, n)
	}
	if p.opts.ReplicaPolicy == PolicyLeastLatency {
		slices.SortStableFunc(replicas, func(a, b *node) int { return int(a.st.latency - b.st.latency) })
	}
	t := &topology{primary: primary, replicas: replicas, splitBrain: writable > 1}
	if old.primary == t.primary && old.splitBrain == t.splitBrain && slices.Equal(old.replicas, t.replicas) {
		return
	}
	p.setTopology(t)
	if t.splitBrain && !old.splitBrain {
		p.log.Error("unifieddb: SPLIT BRAIN: more than one node accepts writes; writing to the one on the newest timeline", "primary", nameOf(primary))
	}
	if old.primary != primary {
		p.primaryChanged(ev, old.primary, primary, now)
	}
	p.debug("unifieddb: topology", "primary", nameOf(primary), "replicas", len(replicas))
}

func (p *Plugin) primaryChanged(ev *events, old, primary *node, now time.Time) {
	oldName, newName := nameOf(old), nameOf(primary)
	p.minReplay = 0 // WAL positions of another primary's history
	if primary == nil {
		p.lostPrimary, p.lostAt = old, now
		p.log.Warn("unifieddb: no writable primary; writes wait up to failover_timeout", "lost", oldName)
	}
	if h := p.opts.Hooks.PrimaryChanged; h != nil {
		ev.add(func() { h(oldName, newName) })
	}
	if primary == nil {
		return
	}
	from, since := old, now
	if from == nil {
		from, since = p.lostPrimary, p.lostAt
	}
	p.lostPrimary = nil
	// A node whose role no probe ever confirmed (Nodes[0], assumed primary
	// at start) was never a primary: losing it is discovery, not failover.
	if from == nil || from == primary || !p.discovered() || !from.st.answered {
		p.log.Info("unifieddb: primary", "node", newName)
		return
	}
	took := now.Sub(since)
	p.failovers.Add(1)
	p.log.Warn("unifieddb: failover", "from", from.name, "to", newName, "took", took)
	if h := p.opts.Hooks.Failover; h != nil {
		ev.add(func() { h(from.name, newName, took) })
	}
	for _, h := range p.hooks {
		if fh, ok := h.(FailoverHook); ok {
			ev.add(func() { fh.Failover(from.addr, primary.addr, now, took) })
		}
	}
}

// discovered reports whether every node was probed at least once: before
// that, a "change" of primary is discovery, not failover.
func (p *Plugin) discovered() bool {
	for _, n := range p.nodeList() {
		if !n.st.probed {
			return false
		}
	}
	return true
}

func nameOf(n *node) string {
	if n == nil {
		return ""
	}
	return n.name
}
