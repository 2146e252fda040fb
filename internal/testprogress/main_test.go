package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormat(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"p"}`,
		`{"Action":"run","Package":"p","Test":"TestOK"}`,
		`{"Action":"output","Package":"p","Test":"TestOK","Output":"chatter of a passing test\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestOK","Elapsed":1.5}`,
		`{"Action":"output","Package":"p","Test":"TestSkip","Output":"    x_test.go:3: defect: reads not retried\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestSkip"}`,
		`{"Action":"run","Package":"p","Test":"TestBad"}`,
		`{"Action":"output","Package":"p","Test":"TestBad","Output":"    bad_test.go:9: wanted 1\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestBad","Elapsed":0.2}`,
		`{"Action":"run","Package":"p","Test":"TestHung"}`,
		`{"Action":"output","Package":"p","Test":"TestHung","Output":"watchdog: TestHung: \"read\" still running\n"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t3.0s\n"}`,
		`{"Action":"fail","Package":"p","Elapsed":3}`,
		`# q`,
		`q/x.go:1: syntax error`,
		`{"ImportPath":"s [s.test]","Action":"build-output","Output":"s/y.go:2: undefined: z\n"}`,
		`{"Action":"pass","Package":"r","Elapsed":0.1}`,
	}, "\n") + "\n"
	var out strings.Builder
	require.NoError(t, format(strings.NewReader(in), &out))
	got := out.String()
	assert.Contains(t, got, "    pass p TestOK (1.5s)\n")
	assert.NotContains(t, got, "chatter of a passing test", "a passing test's output is not shown")
	assert.Contains(t, got, "    skip p TestSkip (0.0s)\n    x_test.go:3: defect: reads not retried\n", "why it was skipped")
	assert.Contains(t, got, "--- FAIL p TestBad (0.2s)\n    bad_test.go:9: wanted 1\n")
	assert.Contains(t, got, "--- (unfinished) p TestHung\nwatchdog: TestHung", "a test cut short by its binary's death shows its output")
	assert.Contains(t, got, "FAIL p (3.0s)\n")
	assert.Contains(t, got, "# q\nq/x.go:1: syntax error\n", "build errors pass through")
	assert.Contains(t, got, "s/y.go:2: undefined: z\n", "so do they under -json")
	assert.Contains(t, got, "ok   r (0.1s)\n")
}
