// Package cluster is one PostgreSQL cluster as unifieddb sees it: its
// members (static, or found by Patroni or DNS discovery), one set of pools
// per node, the probes, the failover state machine and the effects it asks
// for, replication lag, stall and hang detection, write epochs,
// synchronous-replica fencing and the status reports. The query path
// (package plugin) reads its topology snapshots and reports the failures it
// meets; this package never imports the query path: where it must call up
// (a pool's driver connector, failover hooks) Options has a seam.
package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Cluster is one cluster's nodes, pools, probes and failover machine.
type Cluster struct {
	opts Options
	log  *slog.Logger
	// members is the node set: an immutable slice swapped as a whole when
	// discovery adds or removes a node, so readers take no lock.
	members atomic.Pointer[[]*Node]
	topo    atomic.Pointer[Topology]
	rr      atomic.Uint64

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced at every topology change
	closing  chan struct{}
	stopCtx  context.Context // cancelled by Close: ends probes in flight
	stop     context.CancelFunc
	closed   atomic.Bool
	hopeless atomic.Bool    // every node has a fault waiting cannot cure (machine.hopeless)
	wg       sync.WaitGroup // probe loops

	// The failover machine and the node states, guarded by stateMu; changed
	// only through step. Its effects run on the effects goroutine.
	stateMu sync.Mutex
	m       *machine
	fx      effectQueue
	fxStop  chan struct{} // closed by Close: the effects goroutine ends
	hookq   *effectQueue  // the hooks goroutine's, set by runEffects before any effect
	disc    DiscoveryStatus

	// retiring holds the indexes (NodeMask bits) of nodes discovery removed
	// whose pools are not closed yet: not given to a new node.
	retiring atomic.Uint64
}

// New prepares the cluster: one set of pools per node, opened lazily, so a
// node that is down does not stop it, and one probe loop per node. Until the
// first probes answer, Nodes[0] is taken as the primary and the others as
// replicas. Close stops the loops. The caller validates opts.
func New(opts Options) (*Cluster, error) {
	c := newCluster(opts)
	members, err := c.firstMembers()
	if err != nil {
		c.stop()
		return nil, err
	}
	var nodes []*Node
	for i, m := range members {
		n, err := openNode(c, i, m.Addr)
		if err != nil {
			c.stop()
			closeAll(nodes)
			return nil, err
		}
		n.st.srcRole, n.st.srcState = m.Role, m.State
		nodes = append(nodes, n)
	}
	c.members.Store(&nodes)
	c.m = newMachine(&c.opts, nodes, nil)
	c.topo.Store(c.m.topo)
	c.wg.Add(1)
	go c.runEffects()
	c.startHealth()
	c.startDiscovery()
	return c, nil
}

func newCluster(opts Options) *Cluster {
	c := &Cluster{opts: opts, log: opts.Logger, changed: make(chan struct{}), closing: make(chan struct{}),
		fxStop: make(chan struct{}), fx: effectQueue{wake: make(chan struct{}, 1)}}
	c.stopCtx, c.stop = context.WithCancel(context.Background())
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// WaitReady waits until every node answered (or failed) its first probe, or
// ctx ends; routing is right from the first statement after it. It also
// waits, up to readyLagWait, for replicas whose lag is not known yet (see
// lagPending): one a few milliseconds behind is known at its next probe.
func (c *Cluster) WaitReady(ctx context.Context) error {
	start := time.Now()
	for {
		c.stateMu.Lock()
		done := c.m.discovered() && (!c.m.lagPending() || time.Since(start) > readyLagWait)
		c.stateMu.Unlock()
		if done {
			return nil
		}
		if err := c.WaitChange(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// Close stops the probes and closes every pool. It is idempotent.
func (c *Cluster) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(c.closing)
	c.stop()
	c.step(event{kind: evClose}) // a probe Close cancelled changes nothing
	close(c.fxStop)
	c.wg.Wait() // removed nodes' pools are closed by then (retire)
	return closeAll(c.Nodes())
}

// Closing is closed when Close begins.
func (c *Cluster) Closing() <-chan struct{} { return c.closing }

func closeAll(nodes []*Node) error {
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.close())
	}
	return errors.Join(errs...)
}

// Nodes is the current node set. Never modify it: it is shared.
func (c *Cluster) Nodes() []*Node { return *c.members.Load() }

// Topology is the current snapshot of the roles: read without a lock, never
// modified.
func (c *Cluster) Topology() *Topology { return c.topo.Load() }

// Hopeless reports whether every node has a fault waiting cannot cure:
// calls that find no node fail at once (see Unavailable).
func (c *Cluster) Hopeless() bool { return c.hopeless.Load() }

// Failovers is how many failovers the machine saw.
func (c *Cluster) Failovers() int64 {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.m.failovers
}

// setTopology swaps in a new snapshot and wakes statements waiting for one.
func (c *Cluster) setTopology(t *Topology) {
	c.topo.Store(t)
	c.wake()
}

// WaitChange waits up to d for a topology change.
func (c *Cluster) WaitChange(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	ch := c.changed
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return ErrClosed
	case <-ch:
	case <-t.C:
	}
	return nil
}
