package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSyncWaitStalled(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// probe is the figures of a probe d after t0, completed by the previous.
	probe := func(prev syncWait, d time.Duration, waiting int, longest time.Duration, confirmed int64) syncWait {
		return syncWait{waiting: waiting, longest: longest, confirmed: confirmed, at: at(d)}.after(prev)
	}
	none := syncWait{}
	for _, tc := range []struct {
		name    string
		w       syncWait
		stalled bool
	}{
		{"nothing waits", probe(none, 0, 0, 0, 100), false},
		{"a commit waits its usual milliseconds", probe(none, 0, 1, 3*time.Millisecond, 100), false},
		{"busy: commits wait at every probe, the standby confirms",
			probe(probe(none, 0, 5, time.Millisecond, 100), time.Second, 4, 2*time.Millisecond, 200), false},
		{"a commit waited a second", probe(none, 0, 1, SyncRepStallAfter, 100), true},
		{"commits wait at two probes a second apart, the standby confirms nothing",
			probe(probe(none, 0, 2, 10*time.Millisecond, 100), time.Second, 3, 300*time.Millisecond, 100), true},
		{"the same two probes a moment apart: too soon to say",
			probe(probe(none, 0, 2, 10*time.Millisecond, 100), 5*time.Millisecond, 2, 15*time.Millisecond, 100), false},
		{"three probes: the silence counts from the first",
			probe(probe(probe(none, 0, 2, 0, 100), 300*time.Millisecond, 2, 0, 100), 600*time.Millisecond, 2, 0, 100), true},
		{"no standby is connected: commits wait at two probes",
			probe(probe(none, 0, 2, 0, -1), time.Second, 1, 10*time.Millisecond, -1), true},
		{"the commits are gone",
			probe(probe(none, 0, 2, SyncRepStallAfter, 100), time.Second, 0, 0, 100), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.stalled, tc.w.stalled)
		})
	}
}
