package cluster

import (
	"sync"
	"time"
)

// The effects goroutine runs what the failover machine's transitions ask for
// (effects), one at a time and in the order of the transitions: logging,
// closing a hung node's sockets, draining a demoted node's write pools,
// asking for probes. The user's Hooks and FailoverHooks run on a goroutine
// of their own (the hooks goroutine), in the same order. So no hook and no
// slow effect ever runs on the goroutine of a statement or of a probe, and
// a hook that blocks delays only later hooks, never a query nor the closing
// of a hung node's sockets. Both start with the plugin; Close runs the
// effects and hooks already queued, then ends them.

// effectQueue is an unbounded FIFO of effects: step never blocks on it.
type effectQueue struct {
	mu   sync.Mutex
	q    []effect
	wake chan struct{} // capacity 1: something was queued
}

func (e *effectQueue) push(fx []effect) {
	if len(fx) == 0 {
		return
	}
	e.mu.Lock()
	e.q = append(e.q, fx...)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *effectQueue) take() []effect {
	e.mu.Lock()
	defer e.mu.Unlock()
	fx := e.q
	e.q = nil
	return fx
}

// step applies one event to the failover machine and publishes the outcome:
// the snapshot (and each node's epoch, read without a lock by the write
// pools) for the query path, the effects for the effects goroutine. It is
// the only way node states change.
func (c *Cluster) step(e event) {
	c.stateMu.Lock()
	old := c.topo.Load()
	t, fx := c.m.Apply(e)
	if e.kind == evMembers {
		c.members.Store(&e.members)
	}
	for _, n := range c.m.nodes {
		if n.conns.epoch.Load() != n.st.epoch {
			// Before the snapshot: a write routed by it never takes a
			// connection the transition made stale.
			n.conns.epoch.Store(n.st.epoch)
		}
	}
	if e.kind == evProbe && e.probe.err == nil {
		e.node.RTT.Store(int64(e.probe.latency))
		e.node.LSN.Store(e.probe.lsn)
	}
	hopeless := c.m.hopeless()
	wasHopeless := c.hopeless.Swap(hopeless)
	if t != old {
		c.setTopology(t)
	} else if hopeless && !wasHopeless {
		c.wake() // calls waiting for a node now fail at once (unavailable)
	}
	if hopeless && !wasHopeless {
		fx = append(fx, effect{kind: effHopeless})
	}
	c.fx.push(fx) // under stateMu: effects queue in the order of transitions
	c.stateMu.Unlock()
}

// runEffects is the effects goroutine. It ends when Close closes fxStop,
// after the effects queued until then, and the hooks goroutine it starts
// after the hooks those effects queued.
func (c *Cluster) runEffects() {
	defer c.wg.Done()
	c.hookq = &effectQueue{wake: make(chan struct{}, 1)}
	hooksStop := make(chan struct{})
	c.wg.Add(1)
	go c.runHooks(c.hookq, hooksStop)
	defer close(hooksStop)
	for {
		select {
		case <-c.fx.wake:
		case <-c.fxStop:
			for _, f := range c.fx.take() {
				c.runEffect(f)
			}
			return
		}
		for _, f := range c.fx.take() {
			c.runEffect(f)
		}
	}
}

// runHooks is the hooks goroutine: it calls the user's hooks of the
// effects runEffect passed on, in order, until stop, then the rest.
func (c *Cluster) runHooks(q *effectQueue, stop <-chan struct{}) {
	defer c.wg.Done()
	for {
		select {
		case <-q.wake:
		case <-stop:
			for _, f := range q.take() {
				c.callHooks(f)
			}
			return
		}
		for _, f := range q.take() {
			c.callHooks(f)
		}
	}
}

// hook passes f to the hooks goroutine; without one (tests that run the
// effects themselves) the hooks run here.
func (c *Cluster) hook(f effect) {
	if c.hookq == nil {
		c.callHooks(f)
		return
	}
	c.hookq.push([]effect{f})
}

func (c *Cluster) runEffect(f effect) {
	n := f.node
	switch f.kind {
	case effNodeDown:
		c.log.Warn("unifieddb: node down", "node", n.Name, "error", n.Redact(f.err.Error()))
		c.hook(f)
	case effNodeUp:
		c.log.Info("unifieddb: node up", "node", n.Name)
		c.hook(f)
	case effCloseConns:
		if k := n.conns.closeAll(); k > 0 {
			c.log.Warn("unifieddb: node unreachable, closed its connections", "node", n.Name, "connections", k, "hung", f.hung)
		}
	case effDrain:
		c.drain(n)
	case effReconnect:
		n.reconnect.Store(true)
	case effKick:
		n.kickProbe()
	case effKickAll:
		c.kickAll()
	case effSplitBrain:
		c.log.Error("unifieddb: SPLIT BRAIN: more than one node accepts writes; writing to the one on the newest timeline", "primary", nameOf(f.to))
	case effNoPrimary:
		c.log.Warn("unifieddb: no writable primary; writes wait up to failover_timeout", "lost", nameOf(f.from))
	case effPrimaryChanged:
		c.hook(f)
	case effPrimaryFound:
		c.log.Info("unifieddb: primary", "node", nameOf(f.to))
	case effFailover:
		c.log.Warn("unifieddb: failover", "from", f.from.Name, "to", f.to.Name, "took", f.took)
		c.hook(f)
	case effHopeless:
		c.log.Warn("unifieddb: every node has a fault waiting cannot cure; calls fail at once", "error", c.Unavailable(ErrNoPrimary).Error())
	case effTopology:
		c.debug("unifieddb: topology", "primary", nameOf(f.to), "replicas", len(c.topo.Load().Replicas))
	}
}

// callHooks calls the user's hooks of f.
func (c *Cluster) callHooks(f effect) {
	switch f.kind {
	case effNodeDown:
		if h := c.opts.Hooks.NodeDown; h != nil {
			h(f.node.Name, f.err)
		}
	case effNodeUp:
		if h := c.opts.Hooks.NodeUp; h != nil {
			h(f.node.Name)
		}
	case effPrimaryChanged:
		if h := c.opts.Hooks.PrimaryChanged; h != nil {
			h(nameOf(f.from), nameOf(f.to))
		}
	case effFailover:
		c.failover(f.from, f.to, f.at, f.took)
	}
}

func (c *Cluster) failover(from, to *Node, at time.Time, took time.Duration) {
	if h := c.opts.Hooks.Failover; h != nil {
		h(from.Name, to.Name, took)
	}
	if f := c.opts.Failover; f != nil {
		f(from.Addr, to.Addr, at, took)
	}
}
