package cluster

import (
	"math/rand/v2"
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

// Counters are lock-free statement figures of one node or one mode, kept in
// counterShards copies: every statement adds to one copy, picked at random,
// so that statements running on different cores seldom write the same cache
// line (with one copy, every statement of every core wrote the same three
// lines, which then moved between the cores' caches on every statement:
// issue 21). A snapshot sums the copies.
type Counters struct {
	shards [counterShards]counterShard
}

// counterShards is a power of two, more than the cores of most machines
// that run the plugin; 16 copies of 192 bytes per node and per mode.
const counterShards = 16

// counterShard is one copy of the figures, padded to whole cache lines.
// A statement adds to two or three of its figures: nanos, its bucket and,
// when it failed, errors; the count of statements is the sum of the buckets.
type counterShard struct {
	errors  atomic.Int64
	retries atomic.Int64
	nanos   atomic.Int64
	buckets [17]atomic.Int64 // one per LatencyBuckets entry, then +Inf
	_       [32]byte         // 160 bytes of figures: pad to 3 cache lines
}

// shard picks the copy a statement adds to: math/rand/v2's global source is
// per thread, so picking writes nothing shared either.
func (c *Counters) shard() *counterShard { return &c.shards[rand.Uint32()%counterShards] }

// Observe counts one statement attempt that took d.
func (c *Counters) Observe(d time.Duration, failed bool) {
	s := c.shard()
	s.nanos.Add(int64(d))
	if failed {
		s.errors.Add(1)
	}
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	s.buckets[i].Add(1)
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

// Figures sums the copies.
func (c *Counters) Figures() Figures {
	f := Figures{Buckets: make([]int64, len(c.shards[0].buckets))}
	for i := range c.shards {
		s := &c.shards[i]
		f.Errors += s.errors.Load()
		f.Retries += s.retries.Load()
		f.Total += time.Duration(s.nanos.Load())
		for j := range s.buckets {
			n := s.buckets[j].Load()
			f.Buckets[j] += n
			f.Queries += n
		}
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
func (c *Counters) Retried() { c.shard().retries.Add(1) }
