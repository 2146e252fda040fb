package plugin

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Role is what a node is, as its last probe saw it.
type Role uint8

const (
	RoleUnknown Role = iota
	RolePrimary
	RoleReplica
)

func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "primary"
	case RoleReplica:
		return "replica"
	}
	return "unknown"
}

// readmitAfter is how many probes in a row a node that went down must answer
// before it takes traffic again, so a flapping node does not bounce traffic.
const readmitAfter = 2

// probeSQL reads role, WAL position, timeline and read-only state in one
// round trip. The WAL position is the replay position on a standby and the
// current position on a primary; the timeline tells the newer of two
// writable nodes apart and, on a standby, which primary's history it
// streams (received_tli; 0 when it does not stream now, or the role may not
// read pg_stat_wal_receiver): WAL positions of two timelines cannot be
// compared; transaction_read_only on a primary says its sessions
// refuse writes (default_transaction_read_only, set for maintenance). The
// last three columns are the synchronous replication figures of syncrep.go.
const probeSQL = `SELECT pg_is_in_recovery(),
  COALESCE((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0')::bigint, 0),
  CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), 0) ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  current_setting('transaction_read_only') = 'on',
  s.waiting, s.longest_ms,
  COALESCE((SELECT (min(flush_lsn) - '0/0')::bigint FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')), -1)
FROM (SELECT count(*)::int AS waiting,
  COALESCE(max(extract(epoch FROM clock_timestamp() - query_start) * 1000), 0)::bigint AS longest_ms
  FROM pg_stat_activity WHERE wait_event = 'SyncRep') s`

// nodeState is what the health checker knows of a node. Guarded by
// Plugin.stateMu.
type nodeState struct {
	probed     bool // at least one probe finished
	answered   bool // at least one probe succeeded: role is known, not assumed
	up         bool // in service
	okStreak   int
	role       Role
	srcRole    string // the discovery source's view (Member.Role, State); "" when none
	srcState   string
	readOnly   bool // a primary whose sessions refuse writes, as its probe saw
	refused    bool // refused a write (25006) since its last probe
	lsn        int64
	timeline   int
	latency    time.Duration
	syncWait   syncWait // commits waiting on a synchronous standby, as the last probe saw
	lagBytes   int64
	lag        time.Duration
	inRotation bool
	lastErr    string
	checkedAt  time.Time
	upSince    time.Time
}

// writable: the node takes writes, as far as is known.
func (s *nodeState) writable() bool { return s.role == RolePrimary && !s.readOnly && !s.refused }

// readable: the node may take replica reads. A node that just refused a
// write may be a demoted primary still behind the new one: it waits for its
// probe. A primary in read-only maintenance serves reads.
func (s *nodeState) readable() bool {
	return !s.refused && (s.role == RoleReplica || s.readOnly)
}

type probeResult struct {
	err        error
	inRecovery bool
	readOnly   bool
	lsn        int64
	timeline   int
	syncWait   syncWait
	latency    time.Duration
	at         time.Time
}

// apply records a probe result and rebuilds the topology.
func (p *Plugin) apply(n *node, r probeResult) {
	var ev events
	p.stateMu.Lock()
	s := &n.st
	s.checkedAt = r.at
	if r.err != nil {
		s.okStreak = 0
		s.lastErr = n.redact(r.err.Error())
		if s.up {
			s.up = false
			ev.add(func() { p.nodeDown(n, r.err) })
		}
		if hung(r.err) || connectionClass(r.err) {
			// The node is gone or hung. Close its pooled sockets: statements
			// stuck on a hung node fail now (reads are retried elsewhere), and
			// a stale pooled connection fails before sending anything, so a
			// write on it is retried instead of ending with an unknown outcome.
			if k := n.conns.closeAll(); k > 0 {
				p.log.Warn("unifieddb: node unreachable, closed its connections", "node", n.name, "connections", k, "hung", hung(r.err))
			}
		}
	} else {
		s.okStreak++
		s.answered = true
		s.lastErr = ""
		s.latency = r.latency
		n.rtt.Store(int64(r.latency))
		s.syncWait = r.syncWait.after(s.syncWait)
		role := RolePrimary
		if r.inRecovery {
			role = RoleReplica
		}
		readOnly := role == RolePrimary && r.readOnly
		was := s.writable()
		if was && (role == RoleReplica || readOnly) {
			ev.add(func() { p.drain(n) })
		}
		if role == RolePrimary || r.timeline != 0 || s.role != RoleReplica {
			// A standby that does not stream now keeps the timeline it
			// last streamed: its WAL is still that history's.
			s.timeline = r.timeline
		}
		s.role, s.readOnly, s.refused, s.lsn = role, readOnly, false, r.lsn
		if !was && s.writable() && s.probed {
			// Writable again (promoted, or a proxy now reaches another
			// server): connections from before may reach the old one.
			n.newEpoch()
		}
		n.lsn.Store(r.lsn)
		if role == RolePrimary {
			p.recordLSN(n, r.at, r.lsn)
		}
		// A writable node is readmitted at its first good probe when there is
		// no primary at all: a promotion (or a proxy now reaching the new
		// primary) must not wait one more probe while every write waits.
		if !s.up && (!s.probed || s.okStreak >= readmitAfter || (s.writable() && p.topo.Load().primary == nil)) {
			s.up = true
			s.upSince = r.at
			if s.probed {
				ev.add(func() { p.nodeUp(n) })
			}
		}
	}
	s.probed = true
	p.rebuildLocked(&ev, r.at)
	p.stateMu.Unlock()
	ev.run()
}

// suspect takes a node out of service at once after a connection-class
// error, or marks a write pool's node as a standby after it refused a write
// (25006), and asks for an immediate re-probe.
func (p *Plugin) suspect(n *node, err error) {
	var ev events
	p.stateMu.Lock()
	s := &n.st
	switch {
	case isReadOnlyRefusal(err):
		// Demoted to a standby, or set read-only for maintenance: either way
		// not writable until a probe in a new session says otherwise. Only
		// the first refusal acts, so many refused writes make one change.
		if s.writable() {
			s.refused = true
			n.reconnect.Store(true)
			ev.add(func() { p.drain(n) })
			p.rebuildLocked(&ev, time.Now())
			p.kickAll()
		}
	case s.up:
		s.up = false
		s.okStreak = 0
		s.lastErr = n.redact(err.Error())
		ev.add(func() { p.nodeDown(n, err) })
		p.rebuildLocked(&ev, time.Now())
		if s.role == RolePrimary {
			p.kickAll()
		}
	}
	p.stateMu.Unlock()
	ev.run()
	n.kickProbe()
}

func (n *node) kickProbe() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (p *Plugin) kickAll() {
	for _, n := range p.nodeList() {
		n.kickProbe()
	}
}

// drain closes the idle connections of a demoted node's primary pools and
// starts a new epoch, so that none of the connections in use now is used
// for writes again either.
func (p *Plugin) drain(n *node) {
	n.newEpoch()
	for _, k := range []poolKind{poolWrite, poolBatch, poolTx} {
		pl := n.pools[k]
		pl.db.SetMaxIdleConns(0)
		pl.db.SetMaxIdleConns(p.opts.poolConfig(k).MaxIdle)
	}
	p.log.Warn("unifieddb: node is now a standby; drained its write connections", "node", n.name)
}

func (p *Plugin) nodeDown(n *node, err error) {
	p.log.Warn("unifieddb: node down", "node", n.name, "error", n.redact(err.Error()))
	if p.opts.Hooks.NodeDown != nil {
		p.opts.Hooks.NodeDown(n.name, err)
	}
}

func (p *Plugin) nodeUp(n *node) {
	p.log.Info("unifieddb: node up", "node", n.name)
	if p.opts.Hooks.NodeUp != nil {
		p.opts.Hooks.NodeUp(n.name)
	}
}

// redact removes the password from a message (drivers do not print it, but
// a message is never trusted to be free of it).
func (n *node) redact(msg string) string {
	if n.secret != "" {
		msg = strings.ReplaceAll(msg, n.secret, "***")
	}
	return msg
}

// events collects callbacks to run after stateMu is released.
type events []func()

func (e *events) add(f func()) { *e = append(*e, f) }
func (e events) run() {
	for _, f := range e {
		f()
	}
}

// debug logs a routing or health decision when debug logging is on.
func (p *Plugin) debug(msg string, args ...any) {
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug(msg, args...)
	}
}
