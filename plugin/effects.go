package plugin

import (
	"sync"
	"time"
)

// The effects goroutine runs what the failover machine's transitions ask for
// (effects), one at a time and in the order of the transitions: logging,
// closing a hung node's sockets, draining a demoted node's write pools,
// asking for probes, and the user's Hooks and FailoverHooks. So no hook and
// no slow effect ever runs on the goroutine of a statement or of a probe,
// and a hook that blocks delays only later hooks, never a query. It starts
// with the plugin; Close runs the effects already queued, then ends it.

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
func (p *Plugin) step(e event) {
	p.stateMu.Lock()
	old := p.topo.Load()
	t, fx := p.m.Apply(e)
	if e.kind == evMembers {
		p.members.Store(&e.members)
	}
	for _, n := range p.m.nodes {
		if n.conns.epoch.Load() != n.st.epoch {
			// Before the snapshot: a write routed by it never takes a
			// connection the transition made stale.
			n.conns.epoch.Store(n.st.epoch)
		}
	}
	if e.kind == evProbe && e.probe.err == nil {
		e.node.rtt.Store(int64(e.probe.latency))
		e.node.lsn.Store(e.probe.lsn)
	}
	hopeless := p.m.hopeless()
	wasHopeless := p.hopeless.Swap(hopeless)
	if t != old {
		p.setTopology(t)
	} else if hopeless && !wasHopeless {
		p.wake() // calls waiting for a node now fail at once (unavailable)
	}
	if hopeless && !wasHopeless {
		fx = append(fx, effect{kind: effHopeless})
	}
	p.fx.push(fx) // under stateMu: effects queue in the order of transitions
	p.stateMu.Unlock()
}

// runEffects is the effects goroutine. It ends when Close closes fxStop,
// after the effects queued until then.
func (p *Plugin) runEffects() {
	defer p.wg.Done()
	for {
		select {
		case <-p.fx.wake:
		case <-p.fxStop:
			for _, f := range p.fx.take() {
				p.runEffect(f)
			}
			return
		}
		for _, f := range p.fx.take() {
			p.runEffect(f)
		}
	}
}

func (p *Plugin) runEffect(f effect) {
	n := f.node
	switch f.kind {
	case effNodeDown:
		p.log.Warn("unifieddb: node down", "node", n.name, "error", n.redact(f.err.Error()))
		if h := p.opts.Hooks.NodeDown; h != nil {
			h(n.name, f.err)
		}
	case effNodeUp:
		p.log.Info("unifieddb: node up", "node", n.name)
		if h := p.opts.Hooks.NodeUp; h != nil {
			h(n.name)
		}
	case effCloseConns:
		if k := n.conns.closeAll(); k > 0 {
			p.log.Warn("unifieddb: node unreachable, closed its connections", "node", n.name, "connections", k, "hung", f.hung)
		}
	case effDrain:
		p.drain(n)
	case effReconnect:
		n.reconnect.Store(true)
	case effKick:
		n.kickProbe()
	case effKickAll:
		p.kickAll()
	case effSplitBrain:
		p.log.Error("unifieddb: SPLIT BRAIN: more than one node accepts writes; writing to the one on the newest timeline", "primary", nameOf(f.to))
	case effNoPrimary:
		p.log.Warn("unifieddb: no writable primary; writes wait up to failover_timeout", "lost", nameOf(f.from))
	case effPrimaryChanged:
		if h := p.opts.Hooks.PrimaryChanged; h != nil {
			h(nameOf(f.from), nameOf(f.to))
		}
	case effPrimaryFound:
		p.log.Info("unifieddb: primary", "node", nameOf(f.to))
	case effFailover:
		p.failover(f.from, f.to, f.at, f.took)
	case effHopeless:
		p.log.Warn("unifieddb: every node has a fault waiting cannot cure; calls fail at once", "error", p.unavailable(ErrNoPrimary).Error())
	case effTopology:
		p.debug("unifieddb: topology", "primary", nameOf(f.to), "replicas", len(p.topo.Load().replicas))
	}
}

func (p *Plugin) failover(from, to *node, at time.Time, took time.Duration) {
	p.log.Warn("unifieddb: failover", "from", from.name, "to", to.name, "took", took)
	if h := p.opts.Hooks.Failover; h != nil {
		h(from.name, to.name, took)
	}
	for _, h := range p.hooks {
		if fh, ok := h.(FailoverHook); ok {
			fh.Failover(from.addr, to.addr, at, took)
		}
	}
}
