package cluster

import (
	"slices"
	"time"
)

// machine is the failover logic as a state machine: the nodes' states, the
// primary's WAL history and the topology derived from them. Everything that
// changes them comes in as an event through Apply, which returns the new
// snapshot and the effects to run. The machine does no I/O, takes no lock
// and reads time only from its clock, so every transition has a table test
// without a server (machine_test.go). Apply calls are serialized by the
// caller (Cluster.step, under stateMu).
type machine struct {
	enableHA     bool          // Options.EnableHA: any node may be the primary
	maxLag       time.Duration // Options.MaxReplicationLag; 0: no limit
	leastLatency bool          // replicas sorted by probe latency
	clock        func() time.Time

	nodes       []*Node // the member set, as Cluster.members
	topo        *Topology
	history     []lsnSample // the primary's WAL positions over time
	historyOf   *Node
	lostPrimary *Node
	lostAt      time.Time
	minReplay   int64 // replicas short of this WAL position stay out of rotation (SyncReplicas)
	failovers   int64
	closed      bool
}

// eventKind says what happened.
type eventKind uint8

const (
	evProbe     eventKind = iota // a probe of node answered or failed (probe)
	evConnError                  // a statement on node failed with a connection-class error (err)
	evRefused                    // a write pool's statement on node was refused with 25006 (err)
	evMembers                    // discovery changed the member set (members, views)
	evFence                      // replicas short of lsn leave rotation (SyncReplicas timed out)
	evReplayed                   // node was seen to have replayed lsn (SyncReplicas)
	evClose                      // the plugin is closing: later events change nothing
)

type event struct {
	kind    eventKind
	node    *Node
	probe   probeResult
	err     error
	lsn     int64
	members []*Node  // evMembers: the new member set
	views   []Member // evMembers: the source's view of each of members
}

// effectKind says what the plugin must do after a transition. Effects run
// in order on the effects goroutine (effects.go).
type effectKind uint8

const (
	effNodeDown       effectKind = iota // log and Hooks.NodeDown (err)
	effNodeUp                           // log and Hooks.NodeUp
	effCloseConns                       // the node is gone or hung: close its pooled sockets (hung)
	effDrain                            // the node stopped being writable: drain its write pools' idle connections
	effReconnect                        // the node's next probe starts a new session
	effKick                             // probe the node now
	effKickAll                          // probe every node now
	effSplitBrain                       // log: more than one writable node (to)
	effNoPrimary                        // log: no writable node (from is the one lost)
	effPrimaryChanged                   // Hooks.PrimaryChanged (from, to)
	effPrimaryFound                     // log: the primary, found without a failover (to)
	effFailover                         // log, Hooks.Failover and FailoverHooks (from, to, took, at)
	effTopology                         // debug log of the new snapshot
	effHopeless                         // log: every node has a fault waiting cannot cure (see unavailable)
)

type effect struct {
	kind     effectKind
	node     *Node
	from, to *Node
	err      error
	hung     bool
	took     time.Duration
	at       time.Time
}

// readmitAfter is how many probes in a row a node that went down must answer
// before it takes traffic again, so a flapping node does not bounce traffic.
const readmitAfter = 2

func newMachine(o *Options, nodes []*Node, clock func() time.Time) *machine {
	if clock == nil {
		clock = time.Now
	}
	m := &machine{enableHA: o.EnableHA, maxLag: o.MaxReplicationLag, leastLatency: o.ReplicaPolicy == PolicyLeastLatency,
		clock: clock, nodes: nodes}
	// Until the first probes answer, Nodes[0] is taken as the primary and
	// the others as replicas.
	for i, n := range nodes {
		n.st.up, n.st.role = true, RoleReplica
		if i == 0 {
			n.st.role = RolePrimary
		}
	}
	m.topo = &Topology{Primary: nodes[0], Replicas: nodes[1:]}
	if m.maxLag > 0 {
		// No replica's lag is known before the probes: none is fresh.
		m.topo.Replicas = nil
	}
	return m
}

// Apply records e and returns the snapshot after it (the same pointer when
// the routing did not change) and the effects to run.
func (m *machine) Apply(e event) (*Topology, []effect) {
	if m.closed {
		return m.topo, nil
	}
	var fx []effect
	now := m.clock()
	switch e.kind {
	case evProbe:
		fx = m.probed(e.node, e.probe, now)
	case evConnError:
		fx = m.connError(e.node, e.err, now)
	case evRefused:
		fx = m.refused(e.node, now)
	case evMembers:
		fx = m.membersChanged(e.members, e.views, now)
	case evFence:
		if e.lsn > m.minReplay {
			m.minReplay = e.lsn
			fx = m.rebuild(fx, now)
		}
	case evReplayed:
		e.node.st.lsn = max(e.node.st.lsn, e.lsn)
	case evClose:
		m.closed = true
	}
	return m.topo, fx
}

// probed records a probe's result.
func (m *machine) probed(n *Node, r probeResult, now time.Time) (fx []effect) {
	s := &n.st
	s.checkedAt = r.at
	if r.err != nil {
		s.okStreak = 0
		s.lastErr, s.cause = n.Redact(r.err.Error()), r.err
		// A node that answered once and now refuses is a node fault
		// (taken out, the others used, waited for): only a node never
		// seen healthy counts towards failing a call at once.
		s.permanent = !s.answered && permanentFault(r.err)
		if s.up {
			s.up = false
			fx = append(fx, effect{kind: effNodeDown, node: n, err: r.err})
		}
		if h := Hung(r.err); h || ConnectionClass(r.err) {
			// The node is gone or hung. Closing its pooled sockets makes
			// statements stuck on a hung node fail now (reads are retried
			// elsewhere), and a stale pooled connection fail before sending
			// anything, so a write on it is retried instead of ending with an
			// unknown outcome.
			fx = append(fx, effect{kind: effCloseConns, node: n, hung: h})
		}
	} else {
		fx = m.answered(fx, n, r)
	}
	s.probed = true
	return m.rebuild(fx, now)
}

// answered records a successful probe.
func (m *machine) answered(fx []effect, n *Node, r probeResult) []effect {
	s := &n.st
	s.okStreak++
	s.answered = true
	s.lastErr, s.cause, s.permanent = "", nil, false
	s.latency = r.latency
	s.syncWait = r.syncWait.after(s.syncWait)
	role := RolePrimary
	if r.inRecovery {
		role = RoleReplica
	}
	readOnly := role == RolePrimary && r.readOnly
	was := s.writable()
	if was && (role == RoleReplica || readOnly) {
		s.epoch++ // no connection from before takes a write again
		fx = append(fx, effect{kind: effDrain, node: n})
	}
	if role == RolePrimary || r.timeline != 0 || s.role != RoleReplica {
		// A standby that does not stream now keeps the timeline it last
		// streamed: its WAL is still that history's.
		s.timeline = r.timeline
	}
	s.role, s.readOnly, s.refused, s.lsn = role, readOnly, false, r.lsn
	s.receiving, s.upstream = role == RoleReplica && r.receiving, r.upstream
	if !was && s.writable() && s.probed {
		// Writable again (promoted, or a proxy now reaches another server):
		// connections from before may reach the old one.
		s.epoch++
	}
	if role == RolePrimary {
		m.recordLSN(n, r.at, r.lsn)
	}
	// A writable node is readmitted at its first good probe when there is
	// no primary at all: a promotion (or a proxy now reaching the new
	// primary) must not wait one more probe while every write waits.
	if !s.up && (!s.probed || s.okStreak >= readmitAfter || (s.writable() && m.topo.Primary == nil)) {
		s.up = true
		s.upSince = r.at
		if s.probed {
			fx = append(fx, effect{kind: effNodeUp, node: n})
		}
	}
	return fx
}

// connError takes a node out of service at once after a statement's
// connection-class error, and asks for an immediate re-probe (of every node
// when it was the primary).
func (m *machine) connError(n *Node, err error, now time.Time) (fx []effect) {
	s := &n.st
	if s.up {
		s.up = false
		s.okStreak = 0
		s.lastErr, s.cause = n.Redact(err.Error()), err
		fx = append(fx, effect{kind: effNodeDown, node: n, err: err})
		fx = m.rebuild(fx, now)
		if s.role == RolePrimary {
			fx = append(fx, effect{kind: effKickAll})
		}
	}
	return append(fx, effect{kind: effKick, node: n})
}

// refused marks a write pool's node as not writable after it refused a
// write (25006): demoted to a standby, or set read-only for maintenance,
// until a probe in a new session says otherwise. Only the first refusal
// acts, so many refused writes make one change.
func (m *machine) refused(n *Node, now time.Time) (fx []effect) {
	s := &n.st
	if s.writable() {
		s.refused = true
		s.epoch++
		fx = append(fx, effect{kind: effReconnect, node: n}, effect{kind: effDrain, node: n})
		fx = m.rebuild(fx, now)
		fx = append(fx, effect{kind: effKickAll})
	}
	return append(fx, effect{kind: effKick, node: n})
}

// membersChanged makes members the node set and records the source's view
// of each; a node the source disagrees about is probed at once: a hint,
// never a verdict.
func (m *machine) membersChanged(members []*Node, views []Member, now time.Time) (fx []effect) {
	removed := len(members) < len(m.nodes)
	for _, n := range m.nodes {
		if !slices.Contains(members, n) {
			removed = true
		}
	}
	m.nodes = members
	for i, n := range members {
		v := views[i]
		n.st.srcRole, n.st.srcState = v.Role, v.State
		if n.st.probed && disagrees(v, &n.st) {
			fx = append(fx, effect{kind: effKick, node: n})
		}
	}
	if removed {
		fx = m.rebuild(fx, now) // the snapshot stops holding them
	}
	return fx
}

// discovered reports whether every node was probed at least once: before
// that, a "change" of primary is discovery, not failover.
func (m *machine) discovered() bool {
	for _, n := range m.nodes {
		if !n.st.probed {
			return false
		}
	}
	return true
}
