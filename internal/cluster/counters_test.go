package cluster

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// The figures are the sum of every copy, whatever copy each statement
// added to: nothing is lost when statements of many goroutines spread over
// the copies.
func TestCountersSumTheirShards(t *testing.T) {
	var c Counters
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c.Observe(time.Duration(g+1)*time.Millisecond, i%10 == 0)
				if i%4 == 0 {
					c.Retried()
				}
			}
		}()
	}
	wg.Wait()
	f := c.Figures()
	if f.Queries != goroutines*each || f.Errors != goroutines*each/10 || f.Retries != goroutines*each/4 {
		t.Fatalf("figures %+v; want %d queries, %d errors, %d retries", f, goroutines*each, goroutines*each/10, goroutines*each/4)
	}
	if want := time.Duration(each*(1+goroutines)*goroutines/2) * time.Millisecond; f.Total != want {
		t.Errorf("total %v; want %v", f.Total, want)
	}
	var inBuckets int64
	for _, b := range f.Buckets {
		inBuckets += b
	}
	if inBuckets != f.Queries {
		t.Errorf("buckets hold %d attempts; want %d", inBuckets, f.Queries)
	}
	used := 0
	for i := range c.shards {
		if c.shards[i].nanos.Load() > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("statements added to %d copy; want them spread", used)
	}
}

// Each copy fills whole cache lines, so that two copies never share one.
func TestCounterShardFillsCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(counterShard{}); n%64 != 0 {
		t.Fatalf("a copy of the counters is %d bytes, not a multiple of 64", n)
	}
}

// oneCopy is the figures as they were before issue 21: one set that every
// statement of every core writes.
type oneCopy struct {
	queries, nanos atomic.Int64
	buckets        [17]atomic.Int64
}

// BenchmarkCountersParallel is the metrics hook's writes on every statement
// (a node's and a mode's figures) from every core at once: one_copy as it
// was, sharded as it is.
//
//	go test -run '^$' -bench CountersParallel -cpu 2,8 ./internal/cluster
func BenchmarkCountersParallel(b *testing.B) {
	b.Run("one_copy", func(b *testing.B) {
		var node, mode oneCopy
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				for _, c := range []*oneCopy{&node, &mode} {
					c.queries.Add(1)
					c.nanos.Add(int64(300 * time.Microsecond))
					c.buckets[2].Add(1)
				}
			}
		})
	})
	b.Run("sharded", func(b *testing.B) {
		var node, mode Counters
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				node.Observe(300*time.Microsecond, false)
				mode.Observe(300*time.Microsecond, false)
			}
		})
	})
}
