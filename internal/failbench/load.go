package failbench

import (
	"context"
	"sync"
	"time"
)

// result is one request of a load run.
type result struct {
	worker, seq int
	start, end  time.Time
	err         error
}

// load runs workers that each issue one request every interval until stop.
type load struct {
	mu      sync.Mutex
	results []result
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startLoad(workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for seq := 0; ; seq++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				// Each request has its own deadline: a hang counts as a failure.
				opCtx, opCancel := context.WithTimeout(context.Background(), 15*time.Second)
				r := result{worker: w, seq: seq, start: time.Now()}
				r.err = op(opCtx, w, seq)
				r.end = time.Now()
				opCancel()
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) stop() []result {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results
}

// outcome sums up one client's run of one scenario.
type outcome struct {
	requests int
	failed   int
	// recovery is the time from the fault to the last failed request, or -1
	// when requests still failed at the end of the run.
	recovery time.Duration
	slowest  time.Duration
	// resumed is the time from the fault to the end of the first request
	// that succeeded after it.
	resumed time.Duration
	lost    int // acknowledged writes missing on the final primary (-1: not measured)
	note    string
}

func summarize(rs []result, fault, end time.Time) outcome {
	o := outcome{requests: len(rs), lost: -1}
	var last, firstOK time.Time
	for _, r := range rs {
		if r.err == nil && r.end.After(fault) && (firstOK.IsZero() || r.end.Before(firstOK)) {
			firstOK = r.end
		}
		o.slowest = max(o.slowest, r.end.Sub(r.start))
		if r.err != nil {
			o.failed++
			if r.end.After(last) {
				last = r.end
			}
		}
	}
	o.resumed = -1
	if !firstOK.IsZero() {
		o.resumed = firstOK.Sub(fault)
	}
	switch {
	case o.failed == 0:
	case end.Sub(last) < 500*time.Millisecond:
		o.recovery = -1
	default:
		o.recovery = max(0, last.Sub(fault))
	}
	return o
}
