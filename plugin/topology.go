package plugin

// topology is an immutable snapshot of the roles of the nodes. It is swapped
// as a whole (atomic.Pointer), so the query path reads it without locks.
type topology struct {
	primary  *node   // the writable node, nil when none is known
	replicas []*node // nodes in read rotation
}

// nodeMask is a set of node indexes, for "already tried" during retries.
type nodeMask uint64

func (m nodeMask) has(n *node) bool { return n.idx < 64 && m&(1<<uint(n.idx)) != 0 }

func (m *nodeMask) add(n *node) {
	if n.idx < 64 {
		*m |= 1 << uint(n.idx)
	}
}

// pickReplica returns a replica in rotation that is not in tried, by the
// plugin's policy, or nil.
func (p *Plugin) pickReplica(t *topology, tried nodeMask) *node {
	n := len(t.replicas)
	if n == 0 {
		return nil
	}
	start := int(p.rr.Add(1) % uint64(n))
	for i := 0; i < n; i++ {
		r := t.replicas[(start+i)%n]
		if !tried.has(r) {
			return r
		}
	}
	return nil
}
