//go:build linux

package soak

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prompt-improver/unifieddb/internal/history"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

// faultRun is one fault of the run.
type faultRun struct {
	kind                     string
	target, before, after    *patronitest.Node
	start, injected, healthy time.Time
	err                      string
}

// instanceData is one instance's records.
type instanceData struct {
	writes, reads []Op
	inserts       []Insert
	samples       []Sample
}

type runData struct {
	st                 settings
	dir                string
	loadStart, loadEnd time.Time
	faults             []faultRun
	servers            map[*patronitest.Node]*serverSeries
	rows               map[[2]int]int
	proxyNode          map[string]*patronitest.Node
	nodes              []*patronitest.Node
	inst               []instanceData
}

func (r *runData) load() error {
	for i := range r.st.instances {
		dir := filepath.Join(r.dir, fmt.Sprintf("instance-%02d", i))
		var d instanceData
		var err error
		if d.writes, err = ReadLines[Op](filepath.Join(dir, WritesFile)); err != nil {
			return err
		}
		if d.reads, err = ReadLines[Op](filepath.Join(dir, ReadsFile)); err != nil {
			return err
		}
		if d.inserts, err = ReadLines[Insert](filepath.Join(dir, InsertsFile)); err != nil {
			return err
		}
		if d.samples, err = ReadLines[Sample](filepath.Join(dir, SamplesFile)); err != nil {
			return err
		}
		r.inst = append(r.inst, d)
	}
	return nil
}

// window is the time a fault owns: from its start to the next fault's.
func (r *runData) window(i int) (time.Time, time.Time) {
	end := r.loadEnd
	if i+1 < len(r.faults) {
		end = r.faults[i+1].start
	}
	return r.faults[i].start, end
}

// figures are the history and server figures of a window.
type figures struct {
	ops, failedWrites, failedReads, unknown, notSent, other int
	lost, duplicated, phantom, stale                        int
	promoted                                                bool
	firstWrite                                              []time.Duration // per instance: promotion -> first write sent to the new primary
	missing                                                 int             // instances with no write on the new primary in the window
	peakConns, peakNewPerSec                                int             // on the primary after the fault (the new one, or the same one restarted)
	peakNewAny                                              int             // new connections/s, busiest server
}

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func (r *runData) figures(from, to time.Time, primary *patronitest.Node, promotedAt time.Time) figures {
	var f figures
	for _, d := range r.inst {
		var ws []loadgen.Result
		for _, w := range d.writes {
			if in(w.Start, from, to) {
				ws = append(ws, loadgen.Result{Worker: w.Worker, Seq: w.Seq, Start: w.Start, End: w.End, Err: ErrOf(w.Outcome, w.Err)})
			}
		}
		h := history.CheckWrites(ws, r.rows)
		f.ops += h.Ops
		f.failedWrites += h.Ops - h.Acked
		f.unknown += h.Unknown
		f.notSent += h.NotSent
		f.other += len(h.Other)
		f.lost += h.Lost
		f.duplicated += h.Duplicated
		f.phantom += h.Phantom
		// Stale is judged over the instance's whole run (a read goes
		// backwards relative to earlier ones), counted in the window of
		// the read.
		var rd []history.Read
		for _, o := range d.reads {
			if o.Plain {
				if in(o.Start, from, to) {
					f.ops++
					if o.Outcome != OK {
						f.failedReads++
					}
				}
				continue
			}
			rd = append(rd, history.Read{Ctx: o.Worker, Start: o.Start, End: o.End, Err: ErrOf(o.Outcome, o.Err), Want: o.Want, Saw: o.Saw, Port: o.Port})
		}
		before := history.CheckReads(filterReads(rd, time.Time{}, from))
		upto := history.CheckReads(filterReads(rd, time.Time{}, to))
		f.stale += upto.Stale - before.Stale
		inWin := history.CheckReads(filterReads(rd, from, to))
		f.ops += inWin.Reads
		f.failedReads += inWin.Failed
		if !promotedAt.IsZero() && primary != nil {
			first := time.Time{}
			for _, s := range d.inserts {
				if r.proxyNode[s.Node] == primary && !s.Start.Before(promotedAt) && s.Start.Before(to) && (first.IsZero() || s.Start.Before(first)) {
					first = s.Start
				}
			}
			if first.IsZero() {
				f.missing++
			} else {
				f.firstWrite = append(f.firstWrite, first.Sub(promotedAt))
			}
		}
	}
	f.promoted = !promotedAt.IsZero()
	for n, se := range r.servers {
		for _, s := range se.samples {
			if n == primary && in(s.At, from, to) {
				f.peakConns = max(f.peakConns, s.Conns)
			}
		}
		// New connections per second: sessions established (counted by
		// the server, however short they lived) in each second.
		perSec := map[int64]int{}
		for _, c := range se.newSessions {
			if in(c.at, from, to) {
				perSec[c.at.Unix()] += int(c.n)
			}
		}
		for _, k := range perSec {
			if n == primary {
				f.peakNewPerSec = max(f.peakNewPerSec, k)
			}
			f.peakNewAny = max(f.peakNewAny, k)
		}
	}
	return f
}

func filterReads(rd []history.Read, from, to time.Time) []history.Read {
	var out []history.Read
	for _, x := range rd {
		if !x.Start.Before(from) && x.Start.Before(to) {
			out = append(out, x)
		}
	}
	return out
}

// promotedAt is when the sampler first saw after a primary answer as one
// (not in recovery) in the window, when the leader changed.
func (r *runData) promotedAt(fr faultRun, to time.Time) time.Time {
	if fr.after == nil || fr.after == fr.before {
		return time.Time{}
	}
	for _, s := range r.servers[fr.after].samples {
		if in(s.At, fr.start, to) && s.OK && !s.Recovery {
			return s.At
		}
	}
	return time.Time{}
}

func (f *figures) add(g figures) {
	f.ops += g.ops
	f.failedWrites += g.failedWrites
	f.failedReads += g.failedReads
	f.unknown += g.unknown
	f.notSent += g.notSent
	f.other += g.other
	f.lost += g.lost
	f.duplicated += g.duplicated
	f.phantom += g.phantom
	f.stale += g.stale
	f.promoted = f.promoted || g.promoted
	f.firstWrite = append(f.firstWrite, g.firstWrite...)
	f.missing += g.missing
	f.peakConns = max(f.peakConns, g.peakConns)
	f.peakNewPerSec = max(f.peakNewPerSec, g.peakNewPerSec)
	f.peakNewAny = max(f.peakNewAny, g.peakNewAny)
}

// spread is "min–max (spread)" of the first writes.
func (f figures) spread() string {
	if !f.promoted || len(f.firstWrite) == 0 {
		return "-"
	}
	lo, hi := slices.Min(f.firstWrite), slices.Max(f.firstWrite)
	s := fmt.Sprintf("%s–%s (%s)", ms(lo), ms(hi), ms(hi-lo))
	if f.missing > 0 {
		s += fmt.Sprintf(", %d without", f.missing)
	}
	return s
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Millisecond).String()
}

func (f figures) row(name string, n int) string {
	peak := fmt.Sprint(f.peakNewPerSec)
	return fmt.Sprintf("| %s | %d | %d | %d | %d (%d unknown, %d not sent, %d other) | %d | %d | %d | %s | %d | %s | %d |",
		name, n, f.ops, f.failedReads, f.failedWrites, f.unknown, f.notSent, f.other, f.lost, f.duplicated, f.stale,
		f.spread(), f.peakConns, peak, f.peakNewAny)
}

type report struct {
	lines    []string
	problems []string
}

func (r report) markdown() string { return strings.Join(r.lines, "\n") + "\n" }

const faultHeader = "| fault | times | ops | failed reads | failed writes | lost | duplicated | stale | promotion → first write on the new primary, across instances | peak connections on the primary | peak new connections/s on the primary after the fault | peak new connections/s, any server |"

func (r *runData) report() report {
	var rep report
	add := func(format string, args ...any) { rep.lines = append(rep.lines, fmt.Sprintf(format, args...)) }
	dur := r.loadEnd.Sub(r.loadStart)
	add("soak %s: %d instances (each %d writers, a write and a read-your-writes read a second each, and 1 reader, a read a second), %s, %d faults (a fault every ~%s), health_check_interval %s",
		r.st.label, r.st.instances, r.st.writers, dur.Round(time.Second), len(r.faults), r.st.faultEvery, r.st.health)
	add("")
	add("Per fault:")
	add("")
	add("| # | fault | node | leader | ops | failed reads | failed writes | lost | dup | stale | promotion → first write (min–max (spread)) | peak conns (primary) | peak new conns/s (primary after) | peak new conns/s (any) |")
	add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	byKind := map[string]*figures{}
	times := map[string]int{}
	var total figures
	for i, fr := range r.faults {
		from, to := r.window(i)
		pa := r.promotedAt(fr, to)
		g := r.figures(from, to, fr.after, pa)
		leader := fmt.Sprintf("%s → %s", nodeName(fr.before), nodeName(fr.after))
		if fr.err != "" {
			leader += " (fault failed: " + oneLine(fr.err) + ")"
		}
		peak := fmt.Sprint(g.peakNewPerSec)
		add("| %d | %s | %s | %s | %d | %d | %d (%d unknown, %d not sent, %d other) | %d | %d | %d | %s | %d | %s | %d |",
			i+1, fr.kind, nodeName(fr.target), leader, g.ops, g.failedReads, g.failedWrites, g.unknown, g.notSent, g.other,
			g.lost, g.duplicated, g.stale, g.spread(), g.peakConns, peak, g.peakNewAny)
		if byKind[fr.kind] == nil {
			byKind[fr.kind] = &figures{}
		}
		byKind[fr.kind].add(g)
		times[fr.kind]++
		total.add(g)
	}
	// Before the first fault: the fleet's start.
	if len(r.faults) > 0 {
		g := r.figures(r.loadStart, r.faults[0].start, nil, time.Time{})
		total.add(g)
		add("")
		add("Before the first fault (the fleet starting): %d ops, %d failed reads, %d failed writes, peak new connections/s %d.", g.ops, g.failedReads, g.failedWrites, g.peakNewAny)
	}
	add("")
	add("Per fault kind and for the whole run:")
	add("")
	add(faultHeader)
	add("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, k := range faultKinds {
		if f := byKind[k]; f != nil {
			add("%s", f.row(k, times[k]))
		}
	}
	add("%s", total.row("whole run", len(r.faults)))
	add("")
	add("Probe queries per second reaching each server (pg_stat_statements, whole run):")
	add("")
	for _, n := range r.nodes {
		add("- %s: %.1f/s", n.Name, float64(r.servers[n].probes)/dur.Seconds())
	}
	add("")
	add("Resources per instance after the warm-up (%s), sampled every %s: first → last (least-squares slope per hour; heap in MiB); after Close: goroutines", warmUp(dur).Round(time.Second), SampleEach)
	add("")
	add("| instance | goroutines | open fds | heap MiB | pool connections open | flat | goroutines after Close |")
	add("|---|---|---|---|---|---|---|")
	flatAll := 0
	for i, d := range r.inst {
		row, flat, after := r.resources(d)
		if flat {
			flatAll++
		} else {
			rep.problems = append(rep.problems, fmt.Sprintf("soak: instance %d: a resource grows: %s", i, row))
		}
		add("| %d | %s | %s | %s |", i, row, yes(flat), after)
	}
	add("")
	add("Flat within noise: %d of %d instances.", flatAll, len(r.inst))
	if total.lost > 0 || total.duplicated > 0 || total.phantom > 0 || total.stale > 0 {
		rep.problems = append(rep.problems, fmt.Sprintf("soak: %d lost, %d duplicated, %d phantom writes, %d stale reads", total.lost, total.duplicated, total.phantom, total.stale))
	}
	if total.other > 0 {
		rep.problems = append(rep.problems, fmt.Sprintf("soak: %d writes failed with an error that says neither outcome unknown nor not sent", total.other))
	}
	for _, p := range rep.problems {
		add("")
		add("PROBLEM: %s", p)
	}
	return rep
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// A resource is flat when its fitted growth over the window is within
// the noise: tolerance + 2 standard deviations of the residuals.
type metric struct {
	name string
	get  func(Sample) float64
	tol  float64
}

var metrics = []metric{
	{"goroutines", func(s Sample) float64 { return float64(s.Goroutines) }, 5},
	{"fds", func(s Sample) float64 { return float64(s.FDs) }, 3},
	{"heap", func(s Sample) float64 { return float64(s.HeapBytes) / (1 << 20) }, 4},
	{"pool", func(s Sample) float64 { return float64(s.PoolOpen) }, 3},
}

func (r *runData) resources(d instanceData) (row string, flat bool, after string) {
	from := r.loadStart.Add(warmUp(r.loadEnd.Sub(r.loadStart)))
	var xs []float64
	var ss []Sample
	after = "-"
	for _, s := range d.samples {
		if s.Closed {
			after = fmt.Sprint(s.Goroutines)
			continue
		}
		if s.At.After(from) {
			xs = append(xs, s.At.Sub(from).Hours())
			ss = append(ss, s)
		}
	}
	flat = true
	var cols []string
	for _, m := range metrics {
		if len(ss) < 3 {
			cols = append(cols, "-")
			continue
		}
		ys := make([]float64, len(ss))
		for i, s := range ss {
			ys[i] = m.get(s)
		}
		slope, sd := fit(xs, ys)
		growth := slope * (xs[len(xs)-1] - xs[0])
		ok := growth <= m.tol+2*sd
		flat = flat && ok
		f := "%.0f → %.0f (%+.1f/h)"
		if m.name == "heap" {
			f = "%.1f → %.1f (%+.2f/h)"
		}
		c := fmt.Sprintf(f, ys[0], ys[len(ys)-1], slope)
		if !ok {
			c += " GROWS"
		}
		cols = append(cols, c)
	}
	return strings.Join(cols, " | "), flat, after
}

// fit is the least-squares slope of ys over xs and the standard
// deviation of the residuals.
func fit(xs, ys []float64) (slope, sd float64) {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0, 0
	}
	slope = sxy / sxx
	var ss float64
	for i := range xs {
		e := ys[i] - (my + slope*(xs[i]-mx))
		ss += e * e
	}
	return slope, math.Sqrt(ss / n)
}
