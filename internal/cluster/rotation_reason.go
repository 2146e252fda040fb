package cluster

import (
	"fmt"
	"time"
)

// The reasons a replica that answers its probes is out of rotation, as
// reports show them. After a failover a replica still following the old
// primary shows no lag worth the name (its WAL positions belong to another
// history), so "replication lag 0s" would hide what is wrong: it says what
// the replica streams instead.

// otherTimelineReason: n is on another timeline than primary.
func otherTimelineReason(n, primary *Node) string {
	return fmt.Sprintf("on timeline %d, but the primary %s is on timeline %d%s",
		n.st.timeline, primary.Name, primary.st.timeline, upstreamNote(n, primary))
}

// lagReason: n is behind by more than max_replication_lag, or by an
// amount that cannot be known.
func (m *machine) lagReason(n, primary *Node, known bool) string {
	if known {
		return fmt.Sprintf("replication lag %s, over max_replication_lag %s", n.st.lag.Round(time.Millisecond), m.maxLag) + upstreamNote(n, primary)
	}
	return "replication lag unknown" + upstreamNote(n, primary)
}

// upstreamNote says what n streams from when that explains a problem: no
// WAL receiver at all, or a server other than the primary.
func upstreamNote(n, primary *Node) string {
	switch {
	case n.st.role != RoleReplica:
		return ""
	case !n.st.receiving:
		return "; no WAL receiver: it streams from no server (its upstream is down or gone)"
	case n.st.upstream != "" && primary != nil && n.st.upstream != primary.Name:
		return fmt.Sprintf("; it follows %s, which is not the primary", n.st.upstream)
	}
	return ""
}
