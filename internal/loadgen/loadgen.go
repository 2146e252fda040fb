// Package loadgen runs a steady request load for failover tests and the
// failover comparison: workers each issue one request per interval, every
// request under its own deadline and a watchdog, so a request that ignores
// its deadline ends the run with every goroutine's stack.
package loadgen

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prompt-improver/unifieddb/internal/watchdog"
)

// Result is one request.
type Result struct {
	Worker, Seq int
	Start, End  time.Time
	Err         error
}

// Run is a load in progress.
type Run struct {
	mu      sync.Mutex
	results []Result
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// RequestTimeout bounds every request.
const RequestTimeout = 20 * time.Second

// Start runs op on workers goroutines, each once per interval, until Stop
// or ctx ends, under a watchdog named "loadgen".
func Start(ctx context.Context, workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *Run {
	return StartWatched(ctx, watchdog.New("loadgen"), workers, interval, op)
}

// StartWatched is Start with the watchdog wd (a test's, so that a hang is
// reported under the test's name).
func StartWatched(ctx context.Context, wd *watchdog.Watchdog, workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *Run {
	ctx, cancel := context.WithCancel(ctx)
	r := &Run{cancel: cancel}
	for w := range workers {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for seq := 0; ; seq++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				res := Result{Worker: w, Seq: seq, Start: time.Now()}
				what := fmt.Sprintf("load request %d/%d", w, seq)
				res.Err = wd.Do(context.Background(), what, RequestTimeout, func(ctx context.Context) error {
					return op(ctx, w, seq)
				})
				res.End = time.Now()
				r.mu.Lock()
				r.results = append(r.results, res)
				r.mu.Unlock()
			}
		}()
	}
	return r
}

// Stop ends the run and returns every request's result.
func (r *Run) Stop() []Result {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results
}

// Failures returns the failed requests of rs.
func Failures(rs []Result) []Result {
	var out []Result
	for _, res := range rs {
		if res.Err != nil {
			out = append(out, res)
		}
	}
	return out
}
