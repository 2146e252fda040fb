// Package loadgen runs a steady request load for failover tests and the
// failover comparison: workers each issue one request per interval, every
// request under its own deadline, so a hang shows as a failure.
package loadgen

import (
	"context"
	"sync"
	"time"
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
// or ctx ends.
func Start(ctx context.Context, workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *Run {
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
				opCtx, opCancel := context.WithTimeout(context.Background(), RequestTimeout)
				res := Result{Worker: w, Seq: seq, Start: time.Now()}
				res.Err = op(opCtx, w, seq)
				res.End = time.Now()
				opCancel()
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
