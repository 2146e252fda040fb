package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkPointSelect/auto_replica/manager-2         	   17692	     100 ns/op	    5700 B/op	      90 allocs/op
BenchmarkPointSelect/auto_replica/gorm-2            	   20382	     99 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/manager#01-2      	   17692	     102 ns/op	    5700 B/op	      90 allocs/op
BenchmarkPointSelect/auto_replica/gorm#01-2         	   20382	     100 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/manager#02-2      	   17692	     900 ns/op	    5700 B/op	      90 allocs/op
BenchmarkPointSelect/auto_replica/gorm#02-2         	   20382	     101 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/read_write_primary/manager     	   18001	     120 ns/op	    5800 B/op	      92 allocs/op
BenchmarkPointSelect/read_write_primary/gorm        	   22065	     100 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/lonely/manager-2               	   22065	     100 ns/op	    5698 B/op	      88 allocs/op
PASS
`

func TestPairs(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	rows := pairs(res)
	if len(rows) != 2 {
		t.Fatalf("got %d pairs, want 2: %+v", len(rows), rows)
	}
	auto, rw := rows[0], rows[1]
	if auto.name != "PointSelect/auto_replica" || auto.runs != 3 {
		t.Errorf("auto: %+v", auto)
	}
	// Medians: manager 102, gorm 100; the 900 outlier does not count. The
	// per-round ratios are 0.11, 0.98, 0.99.
	if auto.managerNs != 102 || auto.gormNs != 100 {
		t.Errorf("auto medians: %v %v", auto.managerNs, auto.gormNs)
	}
	if auto.opsRatio != 100.0/102 || auto.spreadLo != 101.0/900 || auto.spreadHi != 99.0/100 {
		t.Errorf("auto ratio: %v (%v-%v)", auto.opsRatio, auto.spreadLo, auto.spreadHi)
	}
	if auto.extraAllocs != 2 || !auto.allocsOK || !auto.slowdownOK {
		t.Errorf("auto verdict: %+v", auto)
	}
	if rw.opsRatio > 0.84 || rw.slowdownOK || rw.allocsOK || rw.extraAllocs != 4 {
		t.Errorf("read_write verdict: %+v", rw)
	}
	var out bytes.Buffer
	if !write(&out, rows) {
		t.Error("a missed target was not reported")
	}
	for _, want := range []string{"PointSelect/auto_replica", "met", "MISSED (16.7% fewer ops/s, allocs)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
