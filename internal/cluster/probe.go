package cluster

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// startHealth launches one probe loop per node and the stall watcher.
func (c *Cluster) startHealth() {
	for _, n := range c.Nodes() {
		c.wg.Add(1)
		go c.probeLoop(n)
	}
	c.wg.Add(1)
	go c.watchStalls()
}

func (c *Cluster) probeLoop(n *Node) {
	defer c.wg.Done()
	defer close(n.loopDone)
	defer n.closeProbe()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-n.gone:
			return
		case <-timer.C:
		case <-n.kick:
		}
		r := c.probe(n)
		select {
		case <-c.closing:
			// Close cancelled the probe: the node is not down, the Manager
			// is closing (no "node down" line, no hook, at Close).
			return
		default:
		}
		if n.retired.Load() {
			// Removed by discovery: its state no longer matters, and a probe
			// cancelled by the removal must not close the sockets of
			// statements still running there.
			return
		}
		c.step(event{kind: evProbe, node: n, probe: r})
		if r.err != nil {
			n.failedProbes++
		} else {
			n.failedProbes = 0
		}
		if d := c.probeDelay(n); d > 0 {
			timer.Reset(d)
		}
	}
}

// probeDelay: fast (backing off while the node's probes keep failing,
// see downDelay) while the node is down, no primary is known (so a
// promotion is seen within ~100 ms) or the node's lag is still unknown (see
// nodeState.lagPending), health_check_interval otherwise, and only on
// demand when background checks are off and all is well.
func (c *Cluster) probeDelay(n *Node) time.Duration {
	fast := min(100*time.Millisecond, c.opts.HealthCheckInterval)
	c.stateMu.Lock()
	down, pending := !n.st.up, n.st.lagPending
	c.stateMu.Unlock()
	// Jittered: a fleet's instances, started together, would otherwise
	// probe every server in the same millisecond, forever.
	if down || pending || c.topo.Load().Primary == nil {
		return Jitter(downDelay(fast, c.opts.HealthCheckInterval, n.failedProbes), 0.25)
	}
	if !c.opts.HealthChecks {
		return 0
	}
	return Jitter(c.opts.HealthCheckInterval, 0.1)
}

// downDelay is the delay after failed consecutive failed probes of a node:
// fast, then doubling up to health_check_interval, at most 1 s. A node
// that does not answer is where a fleet's every instance tries to connect
// every 100 ms; a slow server gets more attempts than it can accept, each
// given up (the hedged ones after 250 ms) and each still costing it a
// fork and a password exchange: the soak saw a restarted standby never
// catch up under 20 instances. A node that answers is probed fast.
func downDelay(fast, interval time.Duration, failed int) time.Duration {
	ceiling := max(fast, min(interval, time.Second))
	d := fast
	for i := 1; i < failed && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// renewStandbySession: while no primary is known, a standby's probe
// session is renewed at most this often.
const renewStandbySession = time.Second

// probe asks one node for its role and WAL position under the round
// timeout (connection_timeout). The probe connection is the node's own, so
// an exhausted pool cannot hide a healthy node.
func (c *Cluster) probe(n *Node) probeResult {
	ctx, cancel := context.WithTimeout(n.probeCtx, c.probeTimeout(n))
	defer cancel()
	n.probing.Store(&probeRun{start: time.Now(), cancel: cancel})
	defer n.probing.Store(nil)
	if n.reconnect.Swap(false) {
		n.closeProbe()
	}
	if n.probeConn == nil {
		cc, err := c.opts.ConnConfig(n.Addr)
		if err != nil {
			return probeResult{err: err, at: time.Now()}
		}
		cc.ConnectTimeout = c.probeConnectTimeout(n)
		cc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		if cc.RuntimeParams == nil {
			cc.RuntimeParams = map[string]string{}
		}
		cc.RuntimeParams["application_name"] = "unifieddb-health"
		conn, err := pgx.ConnectConfig(ctx, cc)
		if err != nil {
			return probeResult{err: err, at: time.Now()}
		}
		n.probeConn, n.probeConnAt = conn, time.Now()
	}
	var r probeResult
	start := time.Now()
	var longestMs int64
	var senderHost string
	var senderPort int
	r.err = n.probeConn.QueryRow(ctx, probeSQL).Scan(&r.inRecovery, &r.lsn, &r.timeline, &r.readOnly,
		&r.syncWait.waiting, &longestMs, &r.syncWait.confirmed, &r.receiving, &senderHost, &senderPort)
	if senderHost != "" && senderPort > 0 {
		r.upstream = net.JoinHostPort(senderHost, strconv.Itoa(senderPort))
	}
	r.syncWait.longest = time.Duration(longestMs) * time.Millisecond
	r.at = time.Now()
	r.syncWait.at = r.at
	r.latency = r.at.Sub(start)
	if r.err == nil {
		n.answeredAt.Store(monoOf(start))
	}
	if r.err == nil && r.inRecovery && c.topo.Load().Primary == nil && time.Since(n.probeConnAt) >= Jitter(renewStandbySession, 0.2) {
		// No primary known: a later probe starts a new session. Behind a
		// proxy this one may still reach a demoted server while the proxy
		// already sends new sessions to the promoted one. Not every fast
		// probe: a fleet of N instances would open N new sessions per node
		// every 100 ms for the whole failover (each a fork and a password
		// exchange), which the soak (internal/soak) saw starve the servers.
		n.closeProbe()
	}
	if r.err != nil || (r.readOnly && !r.inRecovery) {
		// A read-only primary: the next probe starts a new session, which
		// sees when ALTER DATABASE/ROLE ... RESET makes it writable again.
		n.closeProbe()
	}
	return r
}

func (n *Node) closeProbe() {
	if n.probeConn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	n.probeConn.Close(ctx)
	n.probeConn = nil
}

// Hung reports whether a probe failed by timing out: the node accepts
// connections but does not answer.
func Hung(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}
