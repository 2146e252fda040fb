package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkPointSelect/auto_replica/manager-2         	   17692	     100 ns/op	    5700 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/gorm-2            	   20382	     99 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/manager#01-2      	   17692	     102 ns/op	    5700 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/gorm#01-2         	   20382	     100 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/manager#02-2      	   17692	     900 ns/op	    5700 B/op	      88 allocs/op
BenchmarkPointSelect/auto_replica/gorm#02-2         	   20382	     101 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/read_write_primary/manager     	   18001	     120 ns/op	    5800 B/op	      92 allocs/op
BenchmarkPointSelect/read_write_primary/gorm        	   22065	     100 ns/op	    5698 B/op	      88 allocs/op
BenchmarkPointSelect/lonely/manager-2               	   22065	     100 ns/op	    5698 B/op	      88 allocs/op
BenchmarkCreate/create_primary/manager-2            	    1000	     100 ns/op	    5000 B/op	      80 allocs/op
BenchmarkCreate/create_primary/gorm-2               	    1000	     260 ns/op	    6000 B/op	      95 allocs/op
BenchmarkCreate/create_slow/manager-2               	    1000	     100 ns/op	    5000 B/op	      80 allocs/op
BenchmarkCreate/create_slow/gorm-2                  	    1000	     249 ns/op	    6000 B/op	      95 allocs/op
PASS
`

func TestPairs(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	rows := pairs(res)
	if len(rows) != 4 {
		t.Fatalf("got %d pairs, want 4: %+v", len(rows), rows)
	}
	create, slow, auto, rw := rows[0], rows[1], rows[2], rows[3]
	if auto.name != "PointSelect/auto_replica" || auto.runs != 3 {
		t.Errorf("auto: %+v", auto)
	}
	// Medians: manager 102, gorm 100; the 900 outlier does not count. The
	// per-round ratios are 0.11, 0.98, 0.99: the IQR is wide, so the
	// tolerance is at its cap, 0.03, and 0.980 meets 1.00.
	if auto.managerNs != 102 || auto.gormNs != 100 {
		t.Errorf("auto medians: %v %v", auto.managerNs, auto.gormNs)
	}
	if auto.opsRatio != 100.0/102 || auto.spreadLo != 101.0/900 || auto.spreadHi != 99.0/100 {
		t.Errorf("auto ratio: %v (%v-%v)", auto.opsRatio, auto.spreadLo, auto.spreadHi)
	}
	if auto.extraAllocs != 0 || !auto.allocsOK || !auto.ratioOK || auto.tolerance != maxTolerance {
		t.Errorf("auto verdict: %+v", auto)
	}
	if rw.opsRatio > 0.84 || rw.ratioOK || rw.allocsOK || rw.extraAllocs != 4 {
		t.Errorf("read_write verdict: %+v", rw)
	}
	if create.name != "Create/create_primary" || create.target != minCreateRatio || create.tolerance != 0 ||
		!create.ratioOK || !create.allocsOK || create.extraAllocs != -15 {
		t.Errorf("create verdict: %+v", create)
	}
	if slow.ratioOK {
		t.Errorf("a Create at 2.49x met 2.50: %+v", slow)
	}
	var out bytes.Buffer
	if !write(&out, rows) {
		t.Error("a missed target was not reported")
	}
	for _, want := range []string{"PointSelect/auto_replica", "met", "MISSED (ratio 0.833 < 0.99, allocs)", "MISSED (ratio 2.490 < 2.50)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	var met bytes.Buffer
	if write(&met, []row{create, auto}) {
		t.Errorf("targets met, but reported missed:\n%s", met.String())
	}
}

func TestTolerance(t *testing.T) {
	for _, c := range []struct{ lo, hi, want float64 }{
		{0.98, 1.02, 0.02},           // half the IQR
		{0.999, 1.001, minTolerance}, // a quiet machine: the floor
		{0.5, 1.5, maxTolerance},     // a noisy one: the cap
	} {
		if got := tolerance(c.lo, c.hi); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("tolerance(%v, %v) = %v; want %v", c.lo, c.hi, got, c.want)
		}
	}
}

// The concurrent pairs: point selects are checked with cpu-ns/op read; the
// transaction pair is only reported, whatever its ratio and allocations.
func TestConcurrentPairs(t *testing.T) {
	const in = `BenchmarkConcurrent/point_select_auto_replica/manager-2   100   20000 ns/op   40000 cpu-ns/op   5700 B/op   88 allocs/op
BenchmarkConcurrent/point_select_auto_replica/gorm-2      100   18000 ns/op   36000 cpu-ns/op   5700 B/op   88 allocs/op
BenchmarkConcurrent/transaction_primary/manager-2         100   90000 ns/op   80000 cpu-ns/op   9000 B/op   140 allocs/op
BenchmarkConcurrent/transaction_primary/gorm-2            100   60000 ns/op   70000 cpu-ns/op   8000 B/op   130 allocs/op
`
	res, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	rows := pairs(res)
	if len(rows) != 2 {
		t.Fatalf("got %d pairs, want 2: %+v", len(rows), rows)
	}
	sel, tx := rows[0], rows[1]
	if sel.ratioOK || !sel.checked || sel.managerCPU != 40000 || sel.gormCPU != 36000 {
		t.Errorf("point select at 0.90x: %+v", sel)
	}
	if tx.checked || !tx.ratioOK || !tx.allocsOK {
		t.Errorf("the transaction pair is only reported: %+v", tx)
	}
	var out bytes.Buffer
	if !write(&out, rows) {
		t.Error("the point select's miss was not reported")
	}
	for _, want := range []string{"40000", "36000", "reported", "MISSED (ratio 0.900"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if write(&bytes.Buffer{}, []row{tx}) {
		t.Error("a reported-only pair failed the check")
	}
}
