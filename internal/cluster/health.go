package cluster

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

// probeSQL reads role, WAL position, timeline and read-only state in one
// round trip. The WAL position is the replay position on a standby and the
// current position on a primary; the timeline tells the newer of two
// writable nodes apart and, on a standby, which primary's history it
// streams (received_tli; 0 when it does not stream now, or the role may not
// read pg_stat_wal_receiver): WAL positions of two timelines cannot be
// compared; transaction_read_only on a primary says its sessions
// refuse writes (default_transaction_read_only, set for maintenance). The
// next three columns are the synchronous replication figures of syncrep.go.
// The last three say whether a standby has a WAL receiver at all (any role
// may see that) and the host and port it streams from ("" and 0 when there
// is none or the role may not see them): they explain why a replica is out
// of rotation after a failover.
const probeSQL = `SELECT pg_is_in_recovery(),
  COALESCE((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0')::bigint, 0),
  CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), 0) ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  current_setting('transaction_read_only') = 'on',
  s.waiting, s.longest_ms,
  COALESCE((SELECT (min(flush_lsn) - '0/0')::bigint FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')), -1),
  EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
  COALESCE((SELECT sender_host FROM pg_stat_wal_receiver), ''),
  COALESCE((SELECT sender_port FROM pg_stat_wal_receiver), 0)
FROM (SELECT count(*)::int AS waiting,
  COALESCE(max(extract(epoch FROM clock_timestamp() - query_start) * 1000), 0)::bigint AS longest_ms
  FROM pg_stat_activity WHERE wait_event = 'SyncRep') s`

// nodeState is what the failover machine knows of a node. Guarded by
// Cluster.stateMu.
type nodeState struct {
	probed   bool // at least one probe finished
	answered bool // at least one probe succeeded: role is known, not assumed
	up       bool // in service
	okStreak int
	role     Role
	srcRole  string // the discovery source's view (Member.Role, State); "" when none
	srcState string
	readOnly bool // a primary whose sessions refuse writes, as its probe saw
	refused  bool // refused a write (25006) since its last probe
	lsn      int64
	timeline int
	latency  time.Duration
	syncWait syncWait // commits waiting on a synchronous standby, as the last probe saw
	// receiving: a standby whose last probe saw a WAL receiver; upstream:
	// the host:port it streams from, "" when unknown.
	receiving bool
	upstream  string
	// outReason says why a replica that answers is out of rotation, "" when
	// it is in rotation (see rebuild).
	outReason  string
	lagBytes   int64
	lag        time.Duration
	inRotation bool
	// lagPending: a replica whose lag cannot be known yet (it is behind the
	// primary's first WAL sample) but may be within max_replication_lag. It
	// serves no reads and is probed fast until its lag is known.
	lagPending bool
	epoch      int64 // changes with writability (see epoch.go); published to conns.epoch
	lastErr    string
	cause      error // the error lastErr tells, unredacted: UnavailableError wraps it
	permanent  bool  // the last probe failed with a permanentFault, and no probe ever answered
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
	receiving  bool   // a standby with a WAL receiver
	upstream   string // host:port the WAL receiver streams from; "" unknown
	latency    time.Duration
	at         time.Time
}

// Report is how the query path tells the failover machine that an attempt
// on n failed with err: a connection-class error takes the node out of
// service at once, a write refused with 25006 makes it not writable; either
// asks for an immediate probe.
func (c *Cluster) Report(n *Node, err error) {
	kind := evConnError
	if ReadOnlyRefusal(err) {
		kind = evRefused
	}
	c.step(event{kind: kind, node: n, err: err})
}

func (n *Node) kickProbe() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (c *Cluster) kickAll() {
	for _, n := range c.Nodes() {
		n.kickProbe()
	}
}

// drain closes the idle connections of a demoted node's primary pools; the
// transition already started a new epoch, so none of the connections in use
// now is used for writes again either.
func (c *Cluster) drain(n *Node) {
	for _, k := range []PoolKind{PoolWrite, PoolBatch, PoolTx} {
		pl := n.Pools[k]
		pl.DB.SetMaxIdleConns(0)
		pl.DB.SetMaxIdleConns(c.opts.poolConfig(k).MaxIdle)
	}
	c.log.Warn("unifieddb: node is now a standby; drained its write connections", "node", n.Name)
}

// Redact removes the password from a message (drivers do not print it, but
// a message is never trusted to be free of it).
func (n *Node) Redact(msg string) string {
	if n.secret != "" {
		msg = strings.ReplaceAll(msg, n.secret, "***")
	}
	return msg
}

// debug logs a routing or health decision when debug logging is on.
func (c *Cluster) debug(msg string, args ...any) {
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug(msg, args...)
	}
}
