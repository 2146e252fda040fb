package cluster

import "time"

// A node that stops answering (SIGSTOP, a frozen VM, a black-holed link)
// must not hold a read for the probe interval plus the probe timeout: the
// bound must not depend on health checks being on or on their interval.
// Every stallTick the watcher looks for a socket that has waited more than
// stallAfter for an answer since the node last answered a probe, and asks
// that node's probe loop for an immediate probe: bounded by stallProbeTimeout
// on a replica (reads only: a wrong "hung" costs retried reads), by the
// usual probe timeout on the primary (in-flight writes would end as outcome
// unknown). A probe that times out closes the node's sockets, so the stuck
// statements fail and reads are retried elsewhere.
const (
	stallTick         = 50 * time.Millisecond
	stallAfter        = 250 * time.Millisecond
	stallProbeTimeout = 400 * time.Millisecond
)

// watchStalls runs until Close.
func (c *Cluster) watchStalls() {
	defer c.wg.Done()
	t := time.NewTicker(stallTick)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
		}
		now := monoNanos()
		for _, n := range c.Nodes() {
			if at := n.conns.stalledSince(); at != 0 && now-at > int64(stallAfter) && at > n.answeredAt.Load() {
				c.cutSlowProbe(n, now)
				n.stallProbe()
			}
		}
	}
}

// probeRun is a probe in flight: when it began, and how to end it early.
type probeRun struct {
	start  time.Time
	cancel func()
}

// cutSlowProbe ends a probe of a replica that has run longer than
// stallProbeTimeout while the node's sockets wait: the node is as silent
// to the probe as to the statements. Without this, a scheduled probe that
// began just before the node went silent would hold the stuck reads for
// its whole timeout (connection_timeout), not stallProbeTimeout. pgx
// reports the cancelled probe as a timeout, so the node is taken for hung
// and its sockets are closed. The primary's probe is left alone, as in
// probeTimeout.
func (c *Cluster) cutSlowProbe(n *Node, now int64) {
	run := n.probing.Load()
	if run == nil || c.topo.Load().Primary == n || now-monoOf(run.start) < int64(stallProbeTimeout) {
		return
	}
	run.cancel()
}

// stallProbe asks for a quick probe of a node whose sockets wait.
func (n *Node) stallProbe() {
	n.quickProbe.Store(true)
	n.kickProbe()
}

// probeTimeout bounds the next probe of n: short after a stall on a node
// that is not the primary.
func (c *Cluster) probeTimeout(n *Node) time.Duration {
	if !n.quickProbe.Swap(false) || c.topo.Load().Primary == n {
		return c.opts.ProbeTimeout
	}
	return min(c.opts.ProbeTimeout, stallProbeTimeout)
}

// hedgeConnectTimeout bounds every other probe connection while no primary
// is known. Behind a proxy (HAProxy) a connection attempt can sit in the
// proxy's retries to the old primary for a second or more, while a new
// attempt would already reach the new one; the other attempts keep the
// full connection_timeout, so a slow but healthy node is still reached.
const hedgeConnectTimeout = 250 * time.Millisecond

// probeConnectTimeout is the connect timeout of n's next probe session.
// Called only from n's probe loop.
func (c *Cluster) probeConnectTimeout(n *Node) time.Duration {
	if c.topo.Load().Primary != nil {
		return c.opts.ProbeTimeout
	}
	n.hedge = !n.hedge
	if n.hedge {
		return min(c.opts.ProbeTimeout, hedgeConnectTimeout)
	}
	return c.opts.ProbeTimeout
}
