package cluster

import (
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds of the latency histogram.
var LatencyBuckets = []time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Counters are lock-free statement figures of one node or one mode.
type Counters struct {
	queries atomic.Int64
	errors  atomic.Int64
	retries atomic.Int64
	nanos   atomic.Int64
	buckets [17]atomic.Int64 // one per LatencyBuckets entry, then +Inf
}

func (c *Counters) Observe(d time.Duration, failed bool) {
	c.queries.Add(1)
	c.nanos.Add(int64(d))
	if failed {
		c.errors.Add(1)
	}
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	c.buckets[i].Add(1)
}

// Figures is a snapshot of counters.
type Figures struct {
	Queries int64
	Errors  int64
	Retries int64
	// Total is the summed duration of every statement attempt.
	Total time.Duration
	// Buckets[i] counts attempts that took at most LatencyBuckets[i]; the last
	// entry counts the slower ones. Not cumulative.
	Buckets []int64
}

func (c *Counters) Figures() Figures {
	f := Figures{
		Queries: c.queries.Load(), Errors: c.errors.Load(), Retries: c.retries.Load(),
		Total: time.Duration(c.nanos.Load()), Buckets: make([]int64, len(c.buckets)),
	}
	for i := range c.buckets {
		f.Buckets[i] = c.buckets[i].Load()
	}
	return f
}

// Mean is the average attempt duration.
func (f Figures) Mean() time.Duration {
	if f.Queries == 0 {
		return 0
	}
	return f.Total / time.Duration(f.Queries)
}

// Quantile estimates the q-quantile (0 < q <= 1) from the histogram,
// interpolating inside the bucket it falls in.
func (f Figures) Quantile(q float64) time.Duration {
	var total int64
	for _, b := range f.Buckets {
		total += b
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	lower := time.Duration(0)
	for i, b := range f.Buckets {
		upper := 2 * LatencyBuckets[len(LatencyBuckets)-1]
		if i < len(LatencyBuckets) {
			upper = LatencyBuckets[i]
		}
		if seen+float64(b) >= rank && b > 0 {
			frac := (rank - seen) / float64(b)
			return lower + time.Duration(frac*float64(upper-lower))
		}
		seen += float64(b)
		lower = upper
	}
	return lower
}

// Retried counts one retry.
func (c *Counters) Retried() { c.retries.Add(1) }
