package cluster

import (
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Test seams: the query path's tests (package plugin) drive a Cluster
// without a server through these. Nothing else calls them.

// NewForTest returns a Cluster of one node per name, no goroutine started
// and no failover machine yet (see StartForTest, AllReplicasForTest). The
// nodes' pools point at a closed loopback port and are never used: nothing
// connects. The caller closes the pools' DBs.
func NewForTest(opts Options, names []string) (*Cluster, []*Node) {
	c := newCluster(opts)
	cc, err := pgx.ParseConfig("postgres://u@127.0.0.1:1/db")
	if err != nil {
		panic(err) // a constant that parses
	}
	nodes := make([]*Node, len(names))
	for i, name := range names {
		n := &Node{c: c, idx: i, Name: name, kick: make(chan struct{}, 1)}
		for kind := PoolKind(0); kind < PoolKinds; kind++ {
			n.Pools[kind] = &Pool{Node: n, Kind: kind, DB: sql.OpenDB(stdlib.GetConnector(*cc))}
		}
		nodes[i] = n
	}
	c.members.Store(&nodes)
	return c, nodes
}

// NodeForTest returns a node of no cluster, without pools.
func NodeForTest(addr Addr, secret string) *Node {
	return &Node{Name: addr.String(), Addr: addr, secret: secret}
}

// StartForTest starts the failover machine as New does: Nodes[0] assumed
// primary, the others replicas, nothing probed.
func (c *Cluster) StartForTest() {
	c.m = newMachine(&c.opts, c.Nodes(), nil)
	c.topo.Store(c.m.topo)
}

// AllReplicasForTest gives the cluster a failover machine in which every
// node answered its probes as a replica in service, and an empty snapshot
// (no primary) until the next event.
func (c *Cluster) AllReplicasForTest() {
	nodes := c.Nodes()
	for _, n := range nodes {
		n.st.up, n.st.probed, n.st.answered, n.st.role = true, true, true, RoleReplica
	}
	c.m = &machine{enableHA: true, clock: func() time.Time { return time.Unix(1000, 0) }, nodes: nodes, topo: &Topology{}}
	c.topo.Store(c.m.topo)
}

// ProbeForTest applies a probe of n as its probe loop would: a replica
// (inRecovery) or a primary at lsn on timeline, or a failure with err.
func (c *Cluster) ProbeForTest(n *Node, inRecovery bool, lsn int64, timeline int, err error) {
	r := probeResult{err: err, at: time.Now()}
	if err == nil {
		r.inRecovery, r.lsn, r.timeline = inRecovery, lsn, timeline
	}
	c.step(event{kind: evProbe, node: n, probe: r})
}

// SetSecretForTest sets the node's password, which messages must redact.
func (n *Node) SetSecretForTest(secret string) { n.secret = secret }

// ReadmitAfterForTest is how many probes in a row a node that went down
// must answer before it takes traffic again.
const ReadmitAfterForTest = readmitAfter
