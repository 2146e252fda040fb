package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// way is one of the compared runs: a name and its results.
type way struct {
	Name string
	Res  *runResults
}

// summarizeCmd reads the events of several ways (-way name=file, the first
// one is the baseline: plain GORM) and writes a Markdown summary: counts per
// way, and the tests that fail in another way but pass in the baseline, with
// their first error line and, for panics, the panic and the first frame in
// unifieddb's code.
func summarizeCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	var specs stringList
	fs.Var(&specs, "way", "name=events.json (repeatable; the first is the baseline)")
	repo := fs.String("repo", "", "unifieddb's directory, to shorten file paths in stack frames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(specs) < 2 {
		return errors.New("summarize: at least two -way name=file")
	}
	var ways []way
	for _, s := range specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("summarize: bad -way %q (want name=file)", s)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		rr, err := readEvents(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("summarize: %s: %w", path, err)
		}
		ways = append(ways, way{Name: name, Res: rr})
	}
	writeSummary(stdout, ways, *repo)
	return nil
}

// counts are one way's totals over top-level tests.
type counts struct {
	Run, Pass, Fail, Crash, Skip int
}

func countOf(rr *runResults) counts {
	var c counts
	for _, r := range rr.Tests {
		c.Run++
		switch r.Outcome {
		case outcomePass:
			c.Pass++
		case outcomeFail:
			c.Fail++
		case outcomeCrash:
			c.Crash++
		case outcomeSkip:
			c.Skip++
		default:
			c.Fail++ // started and never ended without a crash marker: count it as failed
		}
	}
	return c
}

func writeSummary(w io.Writer, ways []way, repo string) {
	base := ways[0]
	fmt.Fprintf(w, "| way | tests run | passed | failed | of which the binary died (panic/hang) | skipped | binary restarts | hangs in init |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, wy := range ways {
		c := countOf(wy.Res)
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %d |\n", wy.Name, c.Run, c.Pass, c.Fail+c.Crash, c.Crash, c.Skip, wy.Res.Segments-1, wy.Res.InitHangs)
	}
	fmt.Fprintln(w)

	if failing := failingIn(base.Res); len(failing) > 0 {
		fmt.Fprintf(w, "Failing with %s too (not counted below): %s\n\n", base.Name, strings.Join(failing, ", "))
	}

	for _, wy := range ways[1:] {
		only := onlyFailing(base.Res, wy.Res)
		fmt.Fprintf(w, "### Fail with %s, pass with %s: %d\n\n", wy.Name, base.Name, len(only))
		writeCrashPlaces(w, only, repo)
		for _, r := range only {
			first := firstError(r.Output)
			fmt.Fprintf(w, "- `%s` (%s%s): %s\n", r.Name, r.Outcome, segmentNote(r), first)
			if p := panicLine(r.Output); p != "" && p != first {
				fmt.Fprintf(w, "  - %s\n", p)
			}
			if r.Outcome == outcomeCrash {
				if m := crashLine(r.Output); m != "" {
					fmt.Fprintf(w, "  - %s\n", m)
				}
				if fr := firstOwnFrame(r.Output, r.Name, repo); fr != "" {
					fmt.Fprintf(w, "  - in unifieddb at %s\n", fr)
				}
			}
		}
		fmt.Fprintln(w)
	}
}

// writeCrashPlaces counts the crashed tests by panic (or hang) and by the
// innermost frame of unifieddb's code, so that one cause shows as one line.
func writeCrashPlaces(w io.Writer, only []*result, repo string) {
	type place struct{ what, where string }
	counts := map[place]int{}
	var order []place
	for _, r := range only {
		if r.Outcome != outcomeCrash {
			continue
		}
		what := panicLine(r.Output)
		if what == "" {
			what = crashLine(r.Output)
		}
		what, _, _ = strings.Cut(what, " [recovered")
		pl := place{what, firstOwnFrame(r.Output, r.Name, repo)}
		if pl.where == "" {
			pl.where = "not in unifieddb's code"
		}
		if counts[pl] == 0 {
			order = append(order, pl)
		}
		counts[pl]++
	}
	if len(order) == 0 {
		return
	}
	sort.SliceStable(order, func(i, j int) bool { return counts[order[i]] > counts[order[j]] })
	fmt.Fprintf(w, "| tests | the binary died of | innermost unifieddb frame |\n|---|---|---|\n")
	for _, pl := range order {
		fmt.Fprintf(w, "| %d | %s | %s |\n", counts[pl], pl.what, pl.where)
	}
	fmt.Fprintln(w)
}

func segmentNote(r *result) string {
	if r.Segment == 0 {
		return ""
	}
	return fmt.Sprintf(", after %d restart(s)", r.Segment)
}

// failingIn lists the tests that failed in rr, sorted.
func failingIn(rr *runResults) []string {
	var names []string
	for _, r := range rr.Tests {
		if failed(r.Outcome) || r.Outcome == "" {
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return names
}

// onlyFailing lists the tests that failed in other and passed (or were
// skipped) in base, in the order they ran in other.
func onlyFailing(base, other *runResults) []*result {
	var out []*result
	for _, name := range other.Order {
		r := other.Tests[name]
		if !failed(r.Outcome) && r.Outcome != "" {
			continue
		}
		if b := base.Tests[name]; b != nil && failed(b.Outcome) {
			continue
		}
		out = append(out, r)
	}
	return out
}

var (
	// fileLine is how t.Errorf and t.Logf prefix a line: "file_test.go:12: ".
	fileLine = regexp.MustCompile(`^\S+\.go:\d+: `)
	// framePath is the file:line line of a stack frame.
	framePath = regexp.MustCompile(`^\s+(/\S+\.go:\d+)`)
)

// crashLine is the runner's note on why the binary died.
func crashLine(lines []string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, crashMarker) {
			why := strings.TrimPrefix(l, crashMarker)
			why, _, _ = strings.Cut(why, ";")
			return "binary died" + clip(why)
		}
	}
	return ""
}

// firstError is the first line of the output that reads as an error: a
// t.Errorf line, a panic, or else the first line that is not the test
// framework's own.
func firstError(lines []string) string {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if fileLine.MatchString(t) || strings.HasPrefix(t, "panic:") || strings.HasPrefix(t, "Error:") {
			return clip(t)
		}
	}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "gormsuite:") {
			continue
		}
		return clip(t)
	}
	return "(no output)"
}

// panicLine is the first line of a panic, a test timeout or a SIGQUIT
// stack dump, if any.
func panicLine(lines []string) string {
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "panic:") || strings.HasPrefix(t, "SIGQUIT:") {
			return clip(t)
		}
	}
	return ""
}

// firstOwnFrame is the innermost stack frame of unifieddb's code (its
// function and file:line) in the goroutine that ran the test, or else in the
// first goroutine of the dump (the one that panicked).
func firstOwnFrame(lines []string, test, repo string) string {
	var blocks [][]string
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "goroutine ") {
			blocks = append(blocks, nil)
		}
		if len(blocks) > 0 {
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
		}
	}
	if len(blocks) == 0 {
		return ""
	}
	pick := blocks[0]
	for _, b := range blocks {
		if strings.Contains(strings.Join(b, "\n"), "tests_test."+test+"(") {
			pick = b
			break
		}
	}
	for i, l := range pick {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "github.com/prompt-improver/unifieddb/") || i+1 >= len(pick) {
			continue
		}
		m := framePath.FindStringSubmatch(pick[i+1])
		if m == nil {
			continue
		}
		path := m[1]
		if repo != "" {
			path = strings.TrimPrefix(path, strings.TrimSuffix(repo, "/")+"/")
		}
		fn := strings.TrimPrefix(t, "github.com/prompt-improver/unifieddb/")
		if i := strings.LastIndex(fn, "("); i > 0 {
			fn = fn[:i]
		}
		return fmt.Sprintf("`%s` (%s)", fn, path)
	}
	return ""
}

// clip keeps a line short enough for a list item.
func clip(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
