// Command testprogress turns `go test -json` into progress a person can
// follow: one line per finished top-level test and per package, why a test
// was skipped, and the full output of whatever failed (a test, a package that crashed, or a test
// still running when its binary died, as when internal/watchdog ends it).
// Lines that are not JSON (build errors) pass through unchanged.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := format(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testprogress:", err)
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func format(in io.Reader, out io.Writer) error {
	// Output is kept per package and test until the test ends, and printed
	// only if it failed.
	pending := map[string]map[string]*strings.Builder{}
	buf := func(e event) *strings.Builder {
		if pending[e.Package] == nil {
			pending[e.Package] = map[string]*strings.Builder{}
		}
		b := pending[e.Package][e.Test]
		if b == nil {
			b = &strings.Builder{}
			pending[e.Package][e.Test] = b
		}
		return b
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		topLevel := e.Test != "" && !strings.Contains(e.Test, "/")
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output) // compiler errors: show them as they come
		case "output":
			buf(e).WriteString(e.Output)
		case "pass", "skip":
			if topLevel {
				fmt.Fprintf(out, "    %-4s %s %s (%.1fs)\n", e.Action, e.Package, e.Test, e.Elapsed)
			}
			if e.Action == "skip" && e.Test != "" {
				fmt.Fprint(out, buf(e).String()) // why it was skipped
			}
			if e.Test == "" {
				fmt.Fprintf(out, "%-4s %s (%.1fs)\n", map[string]string{"pass": "ok", "skip": "--"}[e.Action], e.Package, e.Elapsed)
				delete(pending, e.Package)
			} else {
				delete(pending[e.Package], e.Test)
			}
		case "fail":
			if e.Test != "" {
				fmt.Fprintf(out, "--- FAIL %s %s (%.1fs)\n%s", e.Package, e.Test, e.Elapsed, buf(e).String())
				delete(pending[e.Package], e.Test)
				continue
			}
			// The package failed: print what no finished test accounted
			// for, its own output and that of tests that never ended.
			for test, b := range pending[e.Package] {
				if test != "" && b.Len() > 0 {
					fmt.Fprintf(out, "--- (unfinished) %s %s\n%s", e.Package, test, b.String())
				}
			}
			fmt.Fprintf(out, "%s", pending[e.Package][""].String())
			fmt.Fprintf(out, "FAIL %s (%.1fs)\n", e.Package, e.Elapsed)
			delete(pending, e.Package)
		}
	}
	return sc.Err()
}
