package cluster

import "time"

// lsnSample is the primary's WAL position at a time.
type lsnSample struct {
	at  time.Time
	lsn int64
}

const maxHistory = 1024

// recordLSN keeps the history of the primary's WAL position, from which a
// replica's lag in time is read: how long ago the primary first had WAL the
// replica has not replayed. Unlike now() - pg_last_xact_replay_timestamp(),
// this stays 0 on an idle primary.
func (m *machine) recordLSN(n *Node, at time.Time, lsn int64) {
	if m.historyOf != n {
		m.historyOf, m.history = n, m.history[:0]
	}
	if k := len(m.history); k > 0 && m.history[k-1].lsn >= lsn {
		return
	}
	if len(m.history) == maxHistory {
		m.history = append(m.history[:0], m.history[maxHistory/2:]...)
	}
	m.history = append(m.history, lsnSample{at: at, lsn: lsn})
}

// lagOf returns a replica's lag behind primary, measured against the lost
// primary's last known position when no primary is known. known is false
// when the lag cannot be known: nothing to measure against (no primary
// answered yet), or the replica is short of the first sample of the
// primary's history. The history starts at the primary's first probe (a
// new Manager, a new primary), so such a replica has been behind since some
// time before it: lag is then a lower bound (the first sample's age), never
// taken for the lag.
func (m *machine) lagOf(n, primary *Node, now time.Time) (bytes int64, lag time.Duration, known bool) {
	if n.st.role != RoleReplica {
		return 0, 0, true
	}
	ref := primary
	if ref == nil {
		ref = m.historyOf
	}
	if ref == nil || m.historyOf != ref || len(m.history) == 0 {
		// Nothing measured yet: Nodes[0] only assumed the primary before
		// its first probe, or a new primary.
		return max(ref.lsnOr0()-n.st.lsn, 0), 0, false
	}
	if n.st.lsn >= ref.st.lsn {
		return 0, 0, true
	}
	bytes = ref.st.lsn - n.st.lsn
	if first := m.history[0]; n.st.lsn < first.lsn {
		return bytes, now.Sub(first.at), false
	}
	for _, s := range m.history {
		if s.lsn > n.st.lsn {
			return bytes, now.Sub(s.at), true
		}
	}
	return bytes, 0, true
}

func (n *Node) lsnOr0() int64 {
	if n == nil {
		return 0
	}
	return n.st.lsn
}

// readyLagWait bounds how long WaitReady waits for replicas whose lag is not
// known yet: a replica far behind stays unknown for max_replication_lag, and
// start-up does not wait for that.
const readyLagWait = time.Second

// lagPending reports whether a replica's lag is still being learnt.
func (m *machine) lagPending() bool {
	for _, n := range m.nodes {
		if n.st.lagPending {
			return true
		}
	}
	return false
}
