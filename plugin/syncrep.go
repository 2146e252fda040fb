package plugin

import "time"

// With synchronous replication a commit on the primary waits until a
// synchronous standby confirms it. A standby that is frozen (SIGSTOP, a hung
// VM) or cut off keeps its replication connection open for
// wal_sender_timeout, so nothing looks wrong, yet every commit stalls while
// the primary answers probes. The probe counts the backends waiting
// (pg_stat_activity wait_event SyncRep), the longest of their waits, and the
// flush position the synchronous standbys confirmed (pg_stat_replication).
//
// A commit normally waits a round trip to the standby and its flush,
// milliseconds, and a probe may well catch such a wait: that is no stall.
// Commits stall when one has waited SyncRepStallAfter, or when two probes in
// a row see commits waiting and the standbys confirmed nothing in between
// (which callers with short deadlines show: each commit gives up before it
// has waited long).
//
// Without superuser or pg_read_all_stats the probe sees only its own user's
// backends (the ones this Manager's writes use) and no standby positions,
// so only the first rule applies.

// SyncRepStallAfter is how long a commit may wait on a synchronous standby
// before the node's commits count as stalled.
const SyncRepStallAfter = time.Second

// syncWait is a node's commits waiting on synchronous replication.
type syncWait struct {
	waiting   int           // backends waiting (wait_event SyncRep)
	longest   time.Duration // the longest of their waits, from the start of the statement
	confirmed int64         // flush position the synchronous standbys confirmed; -1 none is connected
	stalled   bool
}

// after completes w, the figures of a probe, with prev, those of the node's
// previous successful probe.
func (w syncWait) after(prev syncWait) syncWait {
	w.stalled = w.waiting > 0 && (w.longest >= SyncRepStallAfter ||
		(prev.waiting > 0 && w.confirmed == prev.confirmed))
	return w
}
