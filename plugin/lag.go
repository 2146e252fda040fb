package plugin

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
func (m *machine) recordLSN(n *node, at time.Time, lsn int64) {
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
// when there is nothing to measure against (no primary seen yet, or a new
// primary without history while the replica is behind it): a lag that cannot
// be known is not taken for 0.
func (m *machine) lagOf(n, primary *node, now time.Time) (bytes int64, lag time.Duration, known bool) {
	if n.st.role != RoleReplica {
		return 0, 0, true
	}
	ref := primary
	if ref == nil {
		ref = m.historyOf
	}
	if ref == nil {
		return 0, 0, false
	}
	if n.st.lsn >= ref.st.lsn {
		return 0, 0, true
	}
	if m.historyOf != ref {
		return ref.st.lsn - n.st.lsn, 0, false
	}
	bytes = ref.st.lsn - n.st.lsn
	for _, s := range m.history {
		if s.lsn > n.st.lsn {
			return bytes, now.Sub(s.at), true
		}
	}
	return bytes, 0, true
}
