package tests

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// opResult is one request of a load run.
type opResult struct {
	worker, seq int
	start, end  time.Time
	err         error
}

// load runs workers that each issue one request every interval until Stop.
type load struct {
	mu      sync.Mutex
	results []opResult
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startLoad runs op on workers goroutines. Each request gets its own
// deadline, so a hang shows up as a failure, not a stuck test.
func startLoad(ctx context.Context, workers int, interval time.Duration, op func(ctx context.Context, worker, seq int) error) *load {
	ctx, cancel := context.WithCancel(ctx)
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
				opCtx, opCancel := context.WithTimeout(context.Background(), 20*time.Second)
				r := opResult{worker: w, seq: seq, start: time.Now()}
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

// Stop ends the run and returns every request's result.
func (l *load) Stop() []opResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results
}

func failures(rs []opResult) []opResult {
	var out []opResult
	for _, r := range rs {
		if r.err != nil {
			out = append(out, r)
		}
	}
	return out
}

// startCluster starts a cluster of the test's own, closed at cleanup.
func startCluster(t *testing.T, opts pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	c, err := pgcluster.Start(testCtx(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}
