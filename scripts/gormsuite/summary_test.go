package main

import (
	"bytes"
	"strings"
	"testing"
)

// A plain run where everything passes, and a plugin run where one test
// fails, one panics (the binary is restarted after it) and one fails in both.
const plainEvents = `{"Action":"output","Package":"p","Output":"gormsuite: segment 0: 4 tests\n"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"pass","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"pass","Package":"p","Test":"TestC"}
{"Action":"run","Package":"p","Test":"TestD"}
{"Action":"output","Package":"p","Test":"TestD","Output":"    d_test.go:3: broken in GORM too\n"}
{"Action":"fail","Package":"p","Test":"TestD"}
`

const pluginEvents = `{"Action":"output","Package":"p","Output":"gormsuite: segment 0: 4 tests\n"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestA/sub"}
{"Action":"output","Package":"p","Test":"TestA/sub","Output":"=== RUN   TestA/sub\n"}
{"Action":"output","Package":"p","Test":"TestA/sub","Output":"    a_test.go:12: expects 2, got 0\n"}
{"Action":"fail","Package":"p","Test":"TestA/sub"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"gormsuite: the test binary died during this test (exit status 2)\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"panic: reflect: Field index out of range [recovered]\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"goroutine 7 [running]:\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"reflect.Value.Field(...)\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"\t/usr/lib/go/src/reflect/value.go:1277\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"github.com/prompt-improver/unifieddb/plugin.hasAssociationValues(0xc0, 0x1)\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"\t/repo/plugin/callbacks.go:150 +0x1d\n"}
{"Action":"output","Package":"p","Output":"gormsuite: segment 1: 2 tests\n"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"pass","Package":"p","Test":"TestC"}
{"Action":"run","Package":"p","Test":"TestD"}
{"Action":"fail","Package":"p","Test":"TestD"}
`

func TestReadEventsOutcomes(t *testing.T) {
	rr, err := readEvents(strings.NewReader(pluginEvents))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"TestA": outcomeFail, "TestB": outcomeCrash, "TestC": outcomePass, "TestD": outcomeFail}
	for name, outcome := range want {
		if got := rr.Tests[name].Outcome; got != outcome {
			t.Errorf("%s: outcome %q, want %q", name, got, outcome)
		}
	}
	if rr.Segments != 2 || rr.Tests["TestC"].Segment != 1 || rr.Tests["TestA"].Segment != 0 {
		t.Errorf("segments: %d runs, TestA in %d, TestC in %d; want 2, 0, 1", rr.Segments, rr.Tests["TestA"].Segment, rr.Tests["TestC"].Segment)
	}
	if got := strings.Join(rr.Order, ","); got != "TestA,TestB,TestC,TestD" {
		t.Errorf("order %s", got)
	}
}

func TestSummaryListsOnlyPluginFailures(t *testing.T) {
	plain, err := readEvents(strings.NewReader(plainEvents))
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := readEvents(strings.NewReader(pluginEvents))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeSummary(&b, []way{{"plain", plain}, {"plugin", plugin}}, "/repo")
	out := b.String()
	for _, want := range []string{
		"| plain | 4 | 3 | 1 | 0 | 0 | 0 | 0 |",
		"| plugin | 4 | 1 | 3 | 1 | 0 | 1 | 0 |",
		"Failing with plain too (not counted below): TestD",
		"### Fail with plugin, pass with plain: 2",
		"- `TestA` (fail): a_test.go:12: expects 2, got 0",
		"- `TestB` (crash): panic: reflect: Field index out of range [recovered]",
		"at `plugin.hasAssociationValues` (plugin/callbacks.go:150)",
		"| 1 | panic: reflect: Field index out of range | `plugin.hasAssociationValues` (plugin/callbacks.go:150) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "- `TestD`") || strings.Contains(out, "- `TestC`") {
		t.Errorf("summary lists a test that does not fail only through the plugin:\n%s", out)
	}
}
