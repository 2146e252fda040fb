package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runCmd runs a compiled GORM test binary under test2json and writes the
// events to -out. When the binary dies (a panic kills every test after the
// one that panicked, and so does a test timeout), it is started again with
// the tests that have not run yet, so one crash does not hide the rest of
// the suite. Each restart starts a new "segment": the binary's init migrates
// the schema again, so tests of a later segment start from empty tables.
func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	bin := fs.String("bin", "", "the compiled test binary (go test -c)")
	dir := fs.String("dir", ".", "the directory to run it in (GORM's tests/)")
	out := fs.String("out", "", "where to write the test2json events")
	pkg := fs.String("pkg", "gorm.io/gorm/tests", "the package name in the events")
	timeout := fs.Duration("timeout", 30*time.Minute, "-test.timeout of one run of the binary")
	testTimeout := fs.Duration("test-timeout", time.Minute, "a top-level test running longer is taken as hung: the binary gets SIGQUIT (goroutine stacks) and the suite goes on")
	run := fs.String("run", "", "only the top-level tests matching this regexp")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" || *out == "" {
		return errors.New("run: -bin and -out are required")
	}
	// Listing runs the binary's init (connect, migrate), which can hang too:
	// bound it and try again.
	var tests []string
	var err error
	for attempt := 1; ; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, *testTimeout)
		tests, err = listTests(lctx, *bin, *dir, *run)
		cancel()
		if err == nil || attempt == 3 || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "gormsuite: listing the tests failed (%v); retrying\n", err)
	}
	if err != nil {
		return err
	}
	if len(tests) == 0 {
		return errors.New("run: the test binary lists no tests")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()

	remaining := tests
	initHangs := 0
	for segment := 0; len(remaining) > 0; segment++ {
		if segment > len(tests) {
			return errors.New("run: more restarts than tests; giving up")
		}
		writeEvent(w, event{Action: "output", Package: *pkg, Output: fmt.Sprintf("%s%d: %d tests\n", segmentMarker, segment, len(remaining))})
		seg, err := runSegment(ctx, *bin, *dir, *pkg, *timeout, *testTimeout, remaining, w)
		if err != nil {
			return err
		}
		var left []string
		for _, t := range remaining {
			if !seg.ended[t] && t != seg.crashed {
				left = append(left, t)
			}
		}
		if len(left) == 0 {
			break
		}
		if len(left) == len(remaining) && seg.hung == initPhase && initHangs < 3 {
			// The binary's init (connect, migrate) hung: its stacks are in
			// the events; try again.
			initHangs++
			fmt.Fprintf(os.Stderr, "gormsuite: the test binary hung in its init; retrying (%d)\n", initHangs)
			writeEvent(w, event{Action: "output", Package: *pkg, Output: fmt.Sprintf("%s (over %s, stopped with SIGQUIT); retrying\n", initHangMarker, *testTimeout)})
			continue
		}
		if len(left) == len(remaining) {
			// Nothing ran: the binary fails before any test (init, flags).
			return fmt.Errorf("run: the test binary exited (%v) before running any test; its last output:\n%s", seg.exitErr, strings.Join(seg.tail, ""))
		}
		crashed := seg.crashed
		if crashed == "" {
			crashed = seg.lastFailed
		}
		fmt.Fprintf(os.Stderr, "gormsuite: the test binary died (%v) in %s; restarting with %d tests left\n", seg.exitErr, orNone(crashed), len(left))
		if crashed != "" {
			why := fmt.Sprint(seg.exitErr)
			if seg.hung == crashed {
				why = fmt.Sprintf("hung: still running after %s, stopped with SIGQUIT", *testTimeout)
			}
			msg := fmt.Sprintf("%s (%s); the tests after it ran in a restarted binary\n", crashMarker, why)
			writeEvent(w, event{Action: "output", Package: *pkg, Test: crashed, Output: msg})
			for _, line := range seg.tail {
				writeEvent(w, event{Action: "output", Package: *pkg, Test: crashed, Output: line})
			}
			if seg.crashed != "" {
				writeEvent(w, event{Action: "fail", Package: *pkg, Test: crashed})
			}
		}
		remaining = left
	}
	return w.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "no test"
	}
	return s
}

// listTests asks the binary for its top-level tests. The binary's init
// connects and migrates, so the database settings must already be in the
// environment.
func listTests(ctx context.Context, bin, dir, run string) ([]string, error) {
	pattern := ".*"
	if run != "" {
		pattern = run
	}
	cmd := exec.CommandContext(ctx, bin, "-test.list", pattern)
	cmd.Dir = dir
	// On timeout, SIGQUIT: the goroutine stacks go to stderr, into the error.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		tail := stderr.String()
		if len(tail) > 4000 {
			tail = "…" + tail[len(tail)-4000:]
		}
		return nil, fmt.Errorf("run: listing the tests: %w\n%s", err, tail)
	}
	var tests []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Test") {
			tests = append(tests, strings.TrimSpace(line))
		}
	}
	return tests, nil
}

// initPhase stands for the binary's init, before its first test.
const initPhase = "(init)"

// initHangMarker starts the package-level line the runner writes when the
// binary hung in its init.
const initHangMarker = "gormsuite: the test binary hung in its init, before any test"

// segmentResult is what one run of the binary did.
type segmentResult struct {
	ended      map[string]bool // top-level tests that passed, failed or skipped
	crashed    string          // a test that started and never ended
	lastFailed string          // the last top-level test to end, if it failed
	tail       []string        // package-level output after the last test ended
	exitErr    error
	hung       string // the test (or initPhase) the watchdog sent SIGQUIT for
}

// runSegment runs the binary once on tests, copying its events to w. The
// binary's output goes through test2json (its stdin), so that the binary
// itself can be sent SIGQUIT when one test runs longer than testTimeout: Go
// then prints every goroutine's stack, which shows where it hangs.
func runSegment(ctx context.Context, bin, dir, pkg string, timeout, testTimeout time.Duration, tests []string, w io.Writer) (*segmentResult, error) {
	quoted := make([]string, len(tests))
	for i, t := range tests {
		quoted[i] = regexp.QuoteMeta(t)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	test := exec.CommandContext(ctx, bin,
		"-test.v=test2json", "-test.count=1", "-test.timeout="+timeout.String(),
		"-test.run=^("+strings.Join(quoted, "|")+")$")
	test.Dir = dir
	test.Stdout, test.Stderr = pw, pw
	conv := exec.CommandContext(ctx, "go", "tool", "test2json", "-t", "-p", pkg)
	conv.Stdin = pr
	conv.Stderr = os.Stderr
	stdout, err := conv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := conv.Start(); err != nil {
		return nil, fmt.Errorf("run: starting test2json: %w", err)
	}
	pr.Close()
	if err := test.Start(); err != nil {
		pw.Close()
		_ = conv.Wait()
		return nil, fmt.Errorf("run: starting the test binary: %w", err)
	}
	pw.Close()

	res := &segmentResult{ended: map[string]bool{}}
	var mu sync.Mutex
	started := map[string]bool{}
	current, since := initPhase, time.Now() // the init connects and migrates: watch it too
	watchdog := time.NewTicker(time.Second)
	defer watchdog.Stop()
	exited := make(chan struct{})
	go func() {
		for {
			select {
			case <-exited:
				return
			case <-watchdog.C:
				mu.Lock()
				stuck := current != "" && time.Since(since) > testTimeout
				name := current
				if stuck {
					current = "" // signal once
					res.hung = name
				}
				mu.Unlock()
				if stuck {
					fmt.Fprintf(os.Stderr, "gormsuite: %s ran over %s: SIGQUIT for its goroutines' stacks\n", name, testTimeout)
					_ = test.Process.Signal(syscall.SIGQUIT)
				}
			}
		}
	}()

	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var werr error
	for sc.Scan() {
		line := sc.Bytes()
		if werr == nil {
			_, werr = w.Write(append(line, '\n'))
		}
		var ev event
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		if ev.Test == "" {
			if ev.Action == "output" {
				res.tail = append(res.tail, ev.Output)
			}
			continue
		}
		if strings.Contains(ev.Test, "/") {
			continue
		}
		mu.Lock()
		switch ev.Action {
		case "run":
			started[ev.Test] = true
			res.tail = nil
			current, since = ev.Test, time.Now()
		case "pass", "fail", "skip":
			res.ended[ev.Test] = true
			res.tail = nil
			res.lastFailed = ""
			if ev.Action == "fail" {
				res.lastFailed = ev.Test
			}
			current = ""
		}
		mu.Unlock()
	}
	res.exitErr = test.Wait()
	close(exited)
	mu.Lock()
	defer mu.Unlock()
	_ = conv.Wait()
	if werr != nil {
		return nil, werr
	}
	for t := range started {
		if !res.ended[t] {
			res.crashed = t
		}
	}
	return res, nil
}

func writeEvent(w io.Writer, ev event) {
	ev.Time = time.Now().Format(time.RFC3339Nano)
	b, _ := json.Marshal(ev)
	_, _ = w.Write(append(b, '\n'))
}
