package tests

import (
	"context"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/watchdog"
)

// Every operation of the fault and load tests runs under a deadline and the
// test's watchdog (internal/watchdog): one still running a second after its
// deadline ends the test binary at once with every goroutine's stack.
const (
	// stmtTimeout bounds one statement (or a GORM call) outside the load;
	// the tests' own bounds are seconds, so 30 s only ever means a hang.
	stmtTimeout = 30 * time.Second
	// nodeTimeout bounds a cluster operation (start, stop, promote,
	// repoint), which pgcluster itself bounds by at most 60 s.
	nodeTimeout = 90 * time.Second
)

// stmt runs a statement-sized op under the test's watchdog.
func stmt(t *testing.T, ctx context.Context, what string, op func(context.Context) error) error {
	t.Helper()
	return watchdog.ForTest(t).Do(ctx, what, stmtTimeout, op)
}

// nodeOp runs a cluster operation under the test's watchdog.
func nodeOp(t *testing.T, ctx context.Context, what string, op func(context.Context) error) error {
	t.Helper()
	return watchdog.ForTest(t).Do(ctx, what, nodeTimeout, op)
}

// startLoad runs a steady load whose every request is watched under the
// test's name (loadgen.RequestTimeout each).
func startLoad(t *testing.T, ctx context.Context, workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *loadgen.Run {
	return loadgen.StartWatched(ctx, watchdog.ForTest(t), workers, interval, op)
}
