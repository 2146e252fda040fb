// Command ratio reads `go test -bench -benchmem` output of package bench on
// stdin and prints, for every pair <case>/manager and <case>/gorm, the
// medians of ns/op and allocs/op, the Manager/GORM ops/s ratio of the
// medians with the quartiles of the per-round ratios (how noisy the machine
// was), and the extra allocations per query, against the targets: at most 3% fewer ops/s and at most 2 extra allocations per query.
//
//	go test -run '^$' -bench PointSelect -benchmem ./bench -args -rounds=15 | go run ./bench/cmd/ratio
//
// It exits 1 when the input has no complete pair, and with -check also
// when a target is missed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Targets of the issue.
const (
	maxSlowdown    = 0.03 // Manager ops/s at least 97% of plain GORM
	maxExtraAllocs = 2.0
)

func main() {
	check := flag.Bool("check", false, "exit 1 when a pair misses a target")
	flag.Parse()
	results, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratio:", err)
		os.Exit(1)
	}
	rows := pairs(results)
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "ratio: no <case>/manager and <case>/gorm pair in the input")
		os.Exit(1)
	}
	missed := write(os.Stdout, rows)
	if *check && missed {
		os.Exit(1)
	}
}

// samples are the measurements of one benchmark name over its runs.
type samples struct {
	nsPerOp, allocsPerOp, bytesPerOp []float64
}

// line matches "BenchmarkX/a/b#03-2   1234   5678 ns/op   90 B/op   12 allocs/op".
var line = regexp.MustCompile(`^(Benchmark\S+?)(?:#\d+)?(?:-\d+)?\s+\d+\s+(.*)$`)

// parse collects the samples of every benchmark, by name without the round
// (#NN) and GOMAXPROCS (-N) suffixes.
func parse(r io.Reader) (map[string]*samples, error) {
	out := map[string]*samples{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name := m[1]
		s := out[name]
		if s == nil {
			s = &samples{}
			out[name] = s
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: bad value %q", name, f[i])
			}
			switch f[i+1] {
			case "ns/op":
				s.nsPerOp = append(s.nsPerOp, v)
			case "allocs/op":
				s.allocsPerOp = append(s.allocsPerOp, v)
			case "B/op":
				s.bytesPerOp = append(s.bytesPerOp, v)
			}
		}
	}
	return out, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// roundRatios are the ops/s ratios Manager/GORM of each round (ops/s is
// 1e9/ns_per_op, so gorm ns / manager ns), sorted; nil for unpaired input.
// Their spread shows how noisy the machine was.
func roundRatios(manager, gorm []float64) []float64 {
	if len(manager) != len(gorm) {
		return nil
	}
	ratios := make([]float64, len(manager))
	for i := range manager {
		ratios[i] = gorm[i] / manager[i]
	}
	slices.Sort(ratios)
	return ratios
}

// quartiles are the 25th and 75th percentiles of sorted v (nearest rank).
func quartiles(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return 0, 0
	}
	return v[(len(v)-1)/4], v[(3*(len(v)-1)+3)/4]
}

// row is one Manager/GORM pair.
type row struct {
	name                       string
	runs                       int
	managerNs, gormNs          float64
	managerAllocs, gormAllocs  float64
	managerBytes, gormBytes    float64
	opsRatio, extraAllocs      float64
	spreadLo, spreadHi         float64
	slowdownOK, allocsOK, full bool
}

func pairs(results map[string]*samples) []row {
	var rows []row
	for name, mgr := range results {
		base, ok := strings.CutSuffix(name, "/manager")
		if !ok {
			continue
		}
		g := results[base+"/gorm"]
		if g == nil || len(mgr.nsPerOp) == 0 || len(g.nsPerOp) == 0 {
			continue
		}
		r := row{
			name:          strings.TrimPrefix(base, "Benchmark"),
			runs:          min(len(mgr.nsPerOp), len(g.nsPerOp)),
			managerNs:     median(mgr.nsPerOp),
			gormNs:        median(g.nsPerOp),
			managerAllocs: median(mgr.allocsPerOp),
			gormAllocs:    median(g.allocsPerOp),
			managerBytes:  median(mgr.bytesPerOp),
			gormBytes:     median(g.bytesPerOp),
			full:          len(mgr.allocsPerOp) > 0 && len(g.allocsPerOp) > 0,
		}
		r.opsRatio = r.gormNs / r.managerNs
		r.spreadLo, r.spreadHi = quartiles(roundRatios(mgr.nsPerOp, g.nsPerOp))
		r.extraAllocs = r.managerAllocs - r.gormAllocs
		r.slowdownOK = r.opsRatio >= 1-maxSlowdown
		r.allocsOK = r.full && r.extraAllocs <= maxExtraAllocs
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.name, b.name) })
	return rows
}

// write prints the table and reports whether any target was missed.
func write(w io.Writer, rows []row) (missed bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pair\truns\tmanager ns/op\tgorm ns/op\tops/s manager/gorm\tper-round IQR\tmanager allocs/op\tgorm allocs/op\textra allocs/query\tmanager B/op\tgorm B/op\ttarget\t")
	for _, r := range rows {
		verdict := "met"
		if !r.slowdownOK || !r.allocsOK {
			missed = true
			var why []string
			if !r.slowdownOK {
				why = append(why, fmt.Sprintf("%.1f%% fewer ops/s", (1-r.opsRatio)*100))
			}
			if !r.allocsOK {
				why = append(why, "allocs")
			}
			verdict = "MISSED (" + strings.Join(why, ", ") + ")"
		}
		spread := "-"
		if r.spreadHi > 0 {
			spread = fmt.Sprintf("%.2f-%.2f", r.spreadLo, r.spreadHi)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.3f\t%s\t%.0f\t%.0f\t%+.0f\t%.0f\t%.0f\t%s\t\n",
			r.name, r.runs, r.managerNs, r.gormNs, r.opsRatio, spread, r.managerAllocs, r.gormAllocs,
			r.extraAllocs, r.managerBytes, r.gormBytes, verdict)
	}
	tw.Flush()
	fmt.Fprintf(w, "medians over the runs; ops/s manager/gorm = gorm ns/op / manager ns/op; per-round IQR: quartiles of the ratio of each round (machine noise)\n")
	fmt.Fprintf(w, "target: ops/s manager/gorm >= %.2f and at most %.0f extra allocs per query\n",
		1-maxSlowdown, maxExtraAllocs)
	return missed
}
