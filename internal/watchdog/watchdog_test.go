package watchdog

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// overrunningOp ignores its context and returns only when released: the
// shape of the hang the watchdog exists for.
func overrunningOp(release <-chan struct{}) func(context.Context) error {
	return func(context.Context) error {
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
		return nil
	}
}

func TestFiresForAnOperationThatOverruns(t *testing.T) {
	release := make(chan struct{})
	reports := make(chan Report, 1)
	w := WithHandler("the-test", func(r Report) {
		reports <- r
		close(release)
	})

	start := time.Now()
	require.NoError(t, w.Do(context.Background(), "stuck read", 10*time.Millisecond, overrunningOp(release)))

	var r Report
	select {
	case r = <-reports:
	default:
		t.Fatal("the operation returned only after a minute: the watchdog did not fire")
	}
	assert.Equal(t, "the-test", r.Name)
	assert.Equal(t, "stuck read", r.What)
	assert.GreaterOrEqual(t, r.Fired.Sub(r.Deadline), Grace, "fires no earlier than Grace after the deadline")
	assert.Less(t, time.Since(start), 30*time.Second)
	// Every goroutine, including the one stuck in the operation.
	assert.Contains(t, string(r.Stacks), "overrunningOp.func")
	assert.Contains(t, string(r.Stacks), "goroutine ")
	assert.Contains(t, r.String(), `"stuck read" still running`)
}

func TestQuietForOperationsThatFinish(t *testing.T) {
	var fired atomic.Int32
	w := WithHandler("the-test", func(Report) { fired.Add(1) })
	ctx := context.Background()

	require.NoError(t, w.Do(ctx, "quick", 50*time.Millisecond, func(context.Context) error { return nil }))
	err := w.Do(ctx, "honours its deadline", 50*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Do returns the operation's error")
	want := errors.New("boom")
	assert.ErrorIs(t, w.Do(ctx, "fails", time.Second, func(context.Context) error { return want }), want)
	// No deadline, nothing to overrun.
	w.Watch(ctx, "no deadline")

	time.Sleep(50*time.Millisecond + Grace + 500*time.Millisecond)
	assert.Zero(t, fired.Load(), "fired for an operation that finished")
}

// TestExitsWithEveryStack runs an overrunning operation under New's
// watchdog in a child process: the child must end at once with status 2 and
// every goroutine's stack on stderr.
func TestExitsWithEveryStack(t *testing.T) {
	if os.Getenv("WATCHDOG_CHILD") == "1" {
		New("child").Do(context.Background(), "stuck write", 10*time.Millisecond, overrunningOp(nil))
		t.Fatal("the watchdog let the operation finish")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExitsWithEveryStack$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WATCHDOG_CHILD=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "the child must fail; stderr:\n%s", stderr.String())
	assert.Equal(t, 2, exitErr.ExitCode())
	assert.Less(t, time.Since(start), 30*time.Second, "ends well before the operation's minute is up")
	out := stderr.String()
	assert.Contains(t, out, `watchdog: child: "stuck write" still running`)
	assert.Contains(t, out, "overrunningOp.func", "the stuck goroutine's stack")
	assert.Contains(t, out, "--- FAIL: child")
}
