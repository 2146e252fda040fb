package cluster

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
// Commits stall when one has waited SyncRepStallAfter, or when probes in a
// row spanning syncRepSilence see commits waiting and the standbys confirm
// nothing meanwhile (which callers with short deadlines show: each commit
// gives up before it has waited long). The span keeps two probes a moment
// apart (a Fresh health check just after a background probe) from calling
// a busy, healthy standby stalled.
//
// Without superuser or pg_read_all_stats the probe sees only its own user's
// backends (the ones this Manager's writes use) and no standby positions,
// so only the first rule applies.

// SyncRepStallAfter is how long a commit may wait on a synchronous standby
// before the node's commits count as stalled.
const SyncRepStallAfter = time.Second

// syncRepSilence is how long commits may wait while the synchronous
// standbys confirm nothing (a healthy one confirms within milliseconds).
const syncRepSilence = 500 * time.Millisecond

// syncWait is a node's commits waiting on synchronous replication.
type syncWait struct {
	waiting   int           // backends waiting (wait_event SyncRep)
	longest   time.Duration // the longest of their waits, from the start of the statement
	confirmed int64         // flush position the synchronous standbys confirmed; -1 none is connected
	at        time.Time     // when the probe answered
	// silentSince is the first of the probes in a row up to this one that
	// saw commits waiting at the same confirmed position; zero when this
	// probe saw none waiting.
	silentSince time.Time
	stalled     bool
}

// after completes w, the figures of a probe, with prev, those of the node's
// previous successful probe.
func (w syncWait) after(prev syncWait) syncWait {
	if w.waiting == 0 {
		return w
	}
	w.silentSince = w.at
	if prev.waiting > 0 && w.confirmed == prev.confirmed {
		w.silentSince = prev.silentSince
	}
	w.stalled = w.longest >= SyncRepStallAfter || w.at.Sub(w.silentSince) >= syncRepSilence
	return w
}
