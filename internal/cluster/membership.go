package cluster

import (
	"context"
	"time"
)

// retireGrace is how long a removed node's pools stay open after the
// topology snapshot stopped holding it: a statement that picked the node from
// an older snapshot reaches its pool within it. Closing then does not cut
// statements or transactions already running: database/sql closes their
// connections when they are released (see pool.gone for the rest).
const retireGrace = time.Second

// firstMembers is the start-up node list: the Discoverer's answer, or
// Options.Nodes when it fails (then an error only when there are none).
func (c *Cluster) firstMembers() ([]Member, error) {
	static := make([]Member, len(c.opts.Nodes))
	for i, a := range c.opts.Nodes {
		static[i] = Member{Addr: a}
	}
	c.disc.Source = staticSource
	if c.opts.Discovery == nil {
		return static, nil
	}
	c.disc.Source, c.disc.Interval = c.opts.Discovery.Source(), c.opts.DiscoveryInterval
	ms, err := c.discover()
	if err == nil {
		return ms, nil
	}
	if len(static) == 0 {
		return nil, err
	}
	c.log.Warn("unifieddb: discovery failed at start; using the configured nodes", "source", c.disc.Source, "error", err)
	return static, nil
}

// discover asks the source once, bounded by ProbeTimeout, and records when
// and how it ended.
func (c *Cluster) discover() ([]Member, error) {
	ctx, cancel := context.WithTimeout(c.stopCtx, c.opts.ProbeTimeout)
	ms, err := c.opts.Discovery.Discover(ctx)
	cancel()
	if err == nil {
		err = checkMembers(ms)
	}
	c.stateMu.Lock()
	c.disc.LastRefresh, c.disc.LastError = time.Now(), ""
	if err != nil {
		c.disc.LastError = err.Error()
	}
	c.stateMu.Unlock()
	return ms, err
}

func (c *Cluster) startDiscovery() {
	if c.opts.Discovery == nil {
		return
	}
	c.wg.Add(1)
	go c.discoveryLoop()
}

// discoveryLoop refreshes the node list every DiscoveryInterval until Close.
func (c *Cluster) discoveryLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.DiscoveryInterval)
	defer t.Stop()
	failing := false // warn once per outage of the source, not every interval
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
		}
		ms, err := c.discover()
		switch {
		case err != nil && c.closed.Load():
			return
		case err != nil && !failing:
			c.log.Warn("unifieddb: discovery failed; keeping the node list", "source", c.disc.Source, "error", err)
		case err != nil:
			c.debug("unifieddb: discovery still failing", "source", c.disc.Source, "error", err)
		case failing:
			c.log.Info("unifieddb: discovery answers again", "source", c.disc.Source)
		}
		failing = err != nil
		if err == nil {
			c.applyMembers(ms)
		}
	}
}

// applyMembers makes the node set match ms: new members get pools and a
// probe loop (they take traffic once a probe answers), and members gone
// leave the topology snapshot first, then are retired. The source's view of
// each member is recorded and, where it disagrees with the probes', the
// node is probed at once: a hint, never a verdict.
func (c *Cluster) applyMembers(ms []Member) {
	cur := c.Nodes()
	addrs := make([]Addr, len(cur))
	// A retiring node keeps its index until its pools close: statements
	// that picked it from an older snapshot may still fail there, and their
	// retries mark its index as tried (nodeMask).
	used := NodeMask(c.retiring.Load())
	for i, n := range cur {
		addrs[i] = n.Addr
		used.Add(n)
	}
	add, remove := diffMembers(addrs, ms)
	var added []*Node
	for _, m := range add {
		idx := 0
		for used&(1<<uint(idx)) != 0 {
			idx++ // checkMembers keeps the set at 64 nodes or fewer
		}
		n, err := openNode(c, idx, m.Addr)
		if err != nil {
			closeAll(added)
			c.stateMu.Lock()
			c.disc.LastError = err.Error()
			c.stateMu.Unlock()
			c.log.Warn("unifieddb: discovery: cannot add node; keeping the node list", "node", m.Addr.String(), "error", err)
			return
		}
		used.Add(n)
		added = append(added, n)
	}
	gone := make(map[Addr]bool, len(remove))
	for _, a := range remove {
		gone[a] = true
	}

	var removed []*Node
	next := make([]*Node, 0, len(cur)+len(added))
	for _, n := range cur {
		if gone[n.Addr] {
			removed = append(removed, n)
		} else {
			next = append(next, n)
		}
	}
	next = append(next, added...)
	byAddr := make(map[Addr]Member, len(ms))
	for _, m := range ms {
		byAddr[m.Addr] = m
	}
	views := make([]Member, len(next))
	for i, n := range next {
		views[i] = byAddr[n.Addr]
	}
	c.stateMu.Lock()
	c.disc.Added += int64(len(added))
	c.disc.Removed += int64(len(removed))
	c.stateMu.Unlock()
	c.step(event{kind: evMembers, members: next, views: views})

	for _, n := range added {
		c.log.Info("unifieddb: discovery: node added", "node", n.Name, "source", c.disc.Source)
		c.wg.Add(1) // inside a counted goroutine, so never racing Close's Wait
		go c.probeLoop(n)
	}
	for _, n := range removed {
		c.retiring.Or(1 << uint(n.idx))
		c.log.Warn("unifieddb: discovery: node removed; its pools close once its statements end", "node", n.Name, "source", c.disc.Source)
		c.wg.Add(1)
		go c.retire(n)
	}
}

// disagrees reports whether the source's view of a node contradicts the
// probes': it says the node is down while the probes have it up, or gives it
// another role.
func disagrees(m Member, s *nodeState) bool {
	switch {
	case m.Suspect:
		return s.up
	case patroniPrimary(m.Role):
		return !s.up || !s.writable()
	case patroniReplica(m.Role):
		return s.writable()
	}
	return false
}

// retire ends a removed node: its probe loop stops at once, its pools close
// after retireGrace (or at Close), when no snapshot has held it for that long.
func (c *Cluster) retire(n *Node) {
	defer c.wg.Done()
	n.retired.Store(true)
	close(n.gone)
	n.cancelProbe()
	t := time.NewTimer(retireGrace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.closing:
	}
	<-n.loopDone // the loop owns the probe connection and closes it
	if err := n.close(); err != nil {
		c.log.Warn("unifieddb: discovery: closing a removed node", "node", n.Name, "error", err)
	}
	c.retiring.And(^uint64(1 << uint(n.idx))) // its index is free again
	c.debug("unifieddb: discovery: removed node closed", "node", n.Name)
}
