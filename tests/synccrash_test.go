package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A primary crash (kill -9) with synchronous replication, as a history
// check (issue 10): 8 writers and 4 read-your-writes readers run while the
// primary dies and its synchronous standby is promoted. Every acknowledged
// write is on the new primary exactly once, and every read-your-writes read
// shows its context's writes and never goes backwards, across the crash.
func TestSyncCrashHistory(t *testing.T) {
	ctx := testCtx(t)
	c, primary, next, other := syncCrashCluster(t, ctx)
	m := newManager(t, c, haConfig)
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))

	readers := newRYWReaders(m, 4)
	writes := startLoad(t, ctx, 8, 5*time.Millisecond, writeOp(m))
	reads := startLoad(t, ctx, len(readers.ctxs), 10*time.Millisecond, readers.op)
	time.Sleep(time.Second)
	require.NoError(t, primary.Kill())
	t.Logf("primary killed at %s; replica1 is port %d, replica2 port %d", time.Now().Format("15:04:05.000"), next.Port(), other.Port())
	time.Sleep(time.Second)
	require.NoError(t, nodeOp(t, ctx, "promote replica1", next.Promote))
	t.Logf("replica1 promoted at %s", time.Now().Format("15:04:05.000"))
	require.NoError(t, nodeOp(t, ctx, "repoint replica2", func(ctx context.Context) error { return other.Repoint(ctx, next) }))
	t.Logf("replica2 repointed at %s", time.Now().Format("15:04:05.000"))
	time.Sleep(time.Second)
	reads.Stop()
	rs := writes.Stop()

	rows := writesOn(t, next)
	h := readers.history(checkHistory(rs, rows), rows)
	assertHistory(t, "primary crash (kill -9), synchronous standby promoted", h)
	for _, err := range h.other {
		t.Errorf("neither acknowledged, nor outcome unknown, nor not sent: %v", err)
	}
	assert.Zero(t, h.readsFailed, "read-your-writes reads that failed")
	if h.unknown > 8+len(readers.ctxs) {
		t.Errorf("%d writes ended with ErrOutcomeUnknown: more than were in flight at the crash", h.unknown)
	}
}
