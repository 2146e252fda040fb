package plugin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSyncWaitStalled(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prev, now syncWait
		stalled   bool
	}{
		{"nothing waits", syncWait{}, syncWait{confirmed: 100}, false},
		{"a commit waits its usual milliseconds", syncWait{}, syncWait{waiting: 1, longest: 3 * time.Millisecond, confirmed: 100}, false},
		{"busy: commits wait at every probe, the standby confirms", syncWait{waiting: 5, confirmed: 100},
			syncWait{waiting: 4, longest: 2 * time.Millisecond, confirmed: 200}, false},
		{"a commit waited a second", syncWait{}, syncWait{waiting: 1, longest: SyncRepStallAfter, confirmed: 100}, true},
		{"commits wait at two probes, the standby confirms nothing", syncWait{waiting: 2, confirmed: 100},
			syncWait{waiting: 3, longest: 300 * time.Millisecond, confirmed: 100}, true},
		{"commits wait at two probes, no standby is connected", syncWait{waiting: 2, confirmed: -1},
			syncWait{waiting: 1, longest: 10 * time.Millisecond, confirmed: -1}, true},
		{"the commits are gone", syncWait{waiting: 2, confirmed: 100, stalled: true}, syncWait{confirmed: 100}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.stalled, tc.now.after(tc.prev).stalled)
		})
	}
}
