package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json) output.
type event struct {
	Time    string  `json:"Time,omitempty"`
	Action  string  `json:"Action"`
	Package string  `json:"Package,omitempty"`
	Test    string  `json:"Test,omitempty"`
	Elapsed float64 `json:"Elapsed,omitempty"`
	Output  string  `json:"Output,omitempty"`
}

// Outcomes of one top-level test.
const (
	outcomePass  = "pass"
	outcomeFail  = "fail"
	outcomeSkip  = "skip"
	outcomeCrash = "crash" // the test binary died while the test ran
)

// segmentMarker starts the package-level output line the runner writes
// before each run of the test binary; a later segment means the binary was
// restarted after a crash, with a fresh schema.
const segmentMarker = "gormsuite: segment "

// crashMarker starts the output line the runner adds to a test that was
// running when the binary died.
const crashMarker = "gormsuite: the test binary died during this test"

// result is what one way's run says about one top-level test.
type result struct {
	Name    string
	Outcome string
	// Output is every output line of the test and of its subtests, in order.
	Output []string
	// Segment is the run of the test binary the test ran in (0 for the first).
	Segment int
}

// run is one way's results, by top-level test name, in the order they ran.
type runResults struct {
	Order    []string
	Tests    map[string]*result
	Segments int
	// InitHangs counts runs of the binary that hung before their first test.
	InitHangs int
}

// topLevel is the top-level test a (sub)test belongs to.
func topLevel(name string) string {
	top, _, _ := strings.Cut(name, "/")
	return top
}

// readEvents parses a test2json stream into per-test results. Lines that are
// not JSON (a build error, a log line) are ignored.
func readEvents(r io.Reader) (*runResults, error) {
	rr := &runResults{Tests: map[string]*result{}, Segments: 1}
	segment := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			continue
		}
		if ev.Test == "" {
			if ev.Action == "output" && strings.HasPrefix(ev.Output, initHangMarker) {
				rr.InitHangs++
			}
			if ev.Action == "output" && strings.HasPrefix(ev.Output, segmentMarker) {
				var n int
				if _, err := fmt.Sscanf(strings.TrimPrefix(ev.Output, segmentMarker), "%d", &n); err == nil {
					segment = n
					rr.Segments = max(rr.Segments, n+1)
				}
			}
			continue
		}
		name := topLevel(ev.Test)
		res := rr.Tests[name]
		if res == nil {
			res = &result{Name: name, Segment: segment}
			rr.Tests[name] = res
			rr.Order = append(rr.Order, name)
		}
		switch ev.Action {
		case "output":
			res.Output = append(res.Output, strings.TrimRight(ev.Output, "\n"))
			if strings.HasPrefix(ev.Output, crashMarker) {
				res.Outcome = outcomeCrash
			}
		case "pass", "fail", "skip":
			if ev.Test == name && res.Outcome != outcomeCrash {
				res.Outcome = ev.Action
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading test events: %w", err)
	}
	return rr, nil
}

// failed says whether the outcome is a failure of any kind.
func failed(outcome string) bool { return outcome == outcomeFail || outcome == outcomeCrash }
