package cluster

import (
	"context"
	"database/sql"
	"time"
)

// NodeStatus is one node as the health checker last saw it.
type NodeStatus struct {
	Name       string // host:port
	Host       string
	Port       int
	Role       Role // RoleUnknown until the node answered a probe
	Answered   bool // the node answered at least one probe
	Healthy    bool // in service: answered its last probes
	InRotation bool // takes traffic: the primary, or a replica within max lag
	// OutOfRotation says why a replica that answers takes no reads (another
	// timeline than the primary's, no WAL receiver, lag over
	// max_replication_lag...); "" when it is in rotation or down.
	OutOfRotation string
	// Timeline is the node's timeline (on a standby, the one it last
	// streamed); 0 when unknown. Upstream is the host:port a standby's WAL
	// receiver streams from, "" when it has none or it cannot be seen.
	Timeline int
	Upstream string
	Latency  time.Duration
	LagBytes int64
	Lag      time.Duration
	// SyncRepWaiting is how many backends wait on synchronous replication
	// (commits a synchronous standby has not confirmed), as the last
	// successful probe saw; SyncRepLongestWait is the longest of those waits.
	// SyncRepStalled: those commits are stalled, not merely waiting their
	// usual milliseconds (see SyncRepStallAfter).
	SyncRepWaiting     int
	SyncRepLongestWait time.Duration
	SyncRepStalled     bool
	// SourceRole and SourceState are the discovery source's view of the
	// node (Patroni's role and state), "" when it has none. A hint only:
	// Role and Healthy are what the probes found.
	SourceRole  string
	SourceState string
	LastError   string // redacted
	CheckedAt   time.Time
	Pools       map[string]sql.DBStats // by pool kind: write, read, batch, transactional
}

// Status is a snapshot of every node.
type Status struct {
	Nodes      []NodeStatus
	Primary    string // "" when no writable node is known
	SplitBrain bool
	Failovers  int64
	// NoPrimarySince is when the primary was lost; zero while one is known.
	NoPrimarySince time.Time
	// Discovery says where the node list came from.
	Discovery DiscoveryStatus
}

// Status returns the latest health snapshot; it does not probe.
func (c *Cluster) Status() Status {
	t := c.topo.Load()
	cs := Status{Primary: nameOf(t.Primary), SplitBrain: t.SplitBrain}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	cs.Failovers = c.m.failovers
	if t.Primary == nil {
		cs.NoPrimarySince = c.m.lostAt
	}
	cs.Discovery = c.disc
	for _, n := range c.Nodes() {
		ns := NodeStatus{
			Name: n.Name, Host: n.Addr.Host, Port: n.Addr.Port,
			Role: n.st.role, Answered: n.st.answered, Healthy: n.st.up, InRotation: n.st.inRotation,
			OutOfRotation: n.st.outReason, Timeline: n.st.timeline, Upstream: n.st.upstream,
			Latency: n.st.latency, LagBytes: n.st.lagBytes, Lag: n.st.lag,
			SyncRepWaiting: n.st.syncWait.waiting, SyncRepLongestWait: n.st.syncWait.longest, SyncRepStalled: n.st.syncWait.stalled,
			SourceRole: n.st.srcRole, SourceState: n.st.srcState,
			LastError: n.st.lastErr, CheckedAt: n.st.checkedAt,
			Pools: map[string]sql.DBStats{},
		}
		if !n.st.answered {
			ns.Role = RoleUnknown // the role was only assumed at start
		}
		for k, pl := range n.Pools {
			ns.Pools[PoolKind(k).String()] = pl.DB.Stats()
		}
		cs.Nodes = append(cs.Nodes, ns)
	}
	return cs
}

// Probe asks every node for a probe now and waits for the answers (or ctx).
func (c *Cluster) Probe(ctx context.Context) error {
	start := time.Now()
	c.kickAll()
	for {
		c.stateMu.Lock()
		done := true
		for _, n := range c.Nodes() {
			if n.st.checkedAt.Before(start) {
				done = false
			}
		}
		c.stateMu.Unlock()
		if done {
			return nil
		}
		if err := c.WaitChange(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}
