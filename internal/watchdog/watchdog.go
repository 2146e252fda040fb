// Package watchdog makes a hang in a fault or load test impossible to miss:
// every operation runs under a deadline, and one still running Grace after
// it fails the test run at once with every goroutine's stack, instead of
// leaving `go test` to its 10-minute timeout (which would also hide which
// operation hung).
package watchdog

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Grace is how long an operation may outlive its deadline: long enough for
// a call that honours its context to notice and return on a busy machine,
// far shorter than any timeout that would otherwise end a hang.
const Grace = time.Second

// Report describes an operation that overran its deadline.
type Report struct {
	Name     string    // whose watchdog fired: the test or the load
	What     string    // the operation
	Deadline time.Time // when the operation should have ended
	Fired    time.Time
	Stacks   []byte // runtime.Stack of every goroutine when the watchdog fired
}

func (r Report) String() string {
	return fmt.Sprintf("watchdog: %s: %q still running %s after its deadline (%s); stacks of every goroutine follow\n\n%s",
		r.Name, r.What, r.Fired.Sub(r.Deadline).Round(time.Millisecond), r.Deadline.Format("15:04:05.000"), r.Stacks)
}

// Watchdog watches the operations of one test or load.
type Watchdog struct {
	name string
	fire func(Report)
}

// New returns a watchdog that, when an operation overruns, writes the report
// to stderr and ends the process with status 2, as `go test -timeout` does
// (test clusters die with the process: internal/pgcluster sets Pdeathsig).
func New(name string) *Watchdog {
	return &Watchdog{name: name, fire: exit(os.Stderr, os.Exit)}
}

// ForTest is New named after tb.
func ForTest(tb testing.TB) *Watchdog { return New(tb.Name()) }

// WithHandler returns a watchdog that calls fire instead of ending the
// process; fire runs on its own goroutine while the operation still runs.
func WithHandler(name string, fire func(Report)) *Watchdog {
	return &Watchdog{name: name, fire: fire}
}

func exit(w io.Writer, exit func(int)) func(Report) {
	return func(r Report) {
		fmt.Fprintf(w, "\n%s\n--- FAIL: %s (watchdog: %q hung)\n", r, r.Name, r.What)
		exit(2)
	}
}

// Do runs op with a context that ends after timeout (or earlier, with ctx),
// and fires if op has not returned Grace after that deadline.
func (w *Watchdog) Do(ctx context.Context, what string, timeout time.Duration, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := w.Watch(ctx, what)
	defer stop()
	return op(ctx)
}

// Watch fires if stop has not been called Grace after ctx's deadline. A
// context without a deadline is not watched: there is nothing to overrun.
func (w *Watchdog) Watch(ctx context.Context, what string) (stop func()) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return func() {}
	}
	const running, stopped, fired = 0, 1, 2
	var state atomic.Int32
	timer := time.AfterFunc(time.Until(deadline)+Grace, func() {
		if !state.CompareAndSwap(running, fired) {
			return
		}
		w.fire(Report{Name: w.name, What: what, Deadline: deadline, Fired: time.Now(), Stacks: allStacks()})
	})
	return func() {
		if state.CompareAndSwap(running, stopped) {
			timer.Stop()
		}
	}
}

// allStacks is runtime.Stack(all) with a buffer large enough for all of it.
func allStacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
