package failbench

import (
	"time"

	"github.com/prompt-improver/unifieddb/internal/loadgen"
)

// outcome sums up one client's run of one scenario.
type outcome struct {
	requests int
	failed   int
	// recovery is the time from the fault to the last failed request, or -1
	// when requests still failed at the end of the run.
	recovery time.Duration
	slowest  time.Duration
	// resumed is the time from the fault to the end of the first request
	// that succeeded after it.
	resumed time.Duration
	lost    int // acknowledged writes missing on the final primary (-1: not measured)
	note    string
}

func summarize(rs []loadgen.Result, fault, end time.Time) outcome {
	o := outcome{requests: len(rs), lost: -1}
	var last, firstOK time.Time
	for _, r := range rs {
		if r.Err == nil && r.End.After(fault) && (firstOK.IsZero() || r.End.Before(firstOK)) {
			firstOK = r.End
		}
		o.slowest = max(o.slowest, r.End.Sub(r.Start))
		if r.Err != nil {
			o.failed++
			if r.End.After(last) {
				last = r.End
			}
		}
	}
	o.resumed = -1
	if !firstOK.IsZero() {
		o.resumed = firstOK.Sub(fault)
	}
	switch {
	case o.failed == 0:
	case end.Sub(last) < 500*time.Millisecond:
		o.recovery = -1
	default:
		o.recovery = max(0, last.Sub(fault))
	}
	return o
}
