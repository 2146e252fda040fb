// Package history is the history check of the failover tests and the soak
// (issue 10), as systems that must not lose writes are tested: every write
// of a load is recorded (start, end, result) and checked afterwards against
// the rows on the primary. A write whose result is known must be there
// exactly as its result says; a write whose outcome is unknown may be there
// once or not at all, never twice. Reads made with a read-your-writes
// context must see the context's acknowledged writes and never go
// backwards.
//
// It lives here, not in the tests package, so that the soak's
// orchestrator (internal/soak) checks its fleet with the same code.
package history

import (
	"errors"
	"fmt"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
)

// Writes is the verdict on the writes of one load.
type Writes struct {
	Ops, Acked, Unknown, NotSent int
	// Lost: acknowledged but absent. Duplicated: present more than once.
	// Phantom: reported failed before it was sent, yet present.
	Lost, Duplicated, Phantom int
	// Other: failed with an error that says neither "not sent" nor
	// "outcome unknown" (nothing can be said of the row).
	Other   []error
	Slowest time.Duration
}

// NotSent reports whether err says the write never reached a server.
func NotSent(err error) bool {
	return errors.Is(err, datalayer.ErrNoPrimary) || errors.Is(err, datalayer.ErrNoHealthyNode) ||
		errors.Is(err, datalayer.ErrPoolTimeout) || errors.Is(err, datalayer.ErrClosed)
}

// CheckWrites compares the writes rs with rows, the count of each (worker,
// seq) found on the primary.
func CheckWrites(rs []loadgen.Result, rows map[[2]int]int) Writes {
	var h Writes
	for _, r := range rs {
		h.Ops++
		h.Slowest = max(h.Slowest, r.End.Sub(r.Start))
		n := rows[[2]int{r.Worker, r.Seq}]
		if n > 1 {
			h.Duplicated++
		}
		switch {
		case r.Err == nil:
			h.Acked++
			if n == 0 {
				h.Lost++
			}
		case errors.Is(r.Err, datalayer.ErrOutcomeUnknown):
			h.Unknown++
		case NotSent(r.Err):
			h.NotSent++
			if n > 0 {
				h.Phantom++
			}
		default:
			h.Other = append(h.Other, fmt.Errorf("write %d/%d: %w", r.Worker, r.Seq, r.Err))
		}
	}
	return h
}

// Read is one read of a read-your-writes context.
type Read struct {
	Ctx        int // which context (a worker's)
	Start, End time.Time
	Err        error
	Want       int // the context's last write acknowledged before the read, -1 for none
	Saw        int // the highest of the context's writes the read showed, -1 for none
	Port       int // the server that answered, for diagnostics
}

// Reads is the verdict on read-your-writes reads.
type Reads struct {
	Reads, Failed int
	// Stale: reads that missed one of their context's acknowledged writes
	// or showed less than an earlier read of the context.
	Stale      int
	StaleReads []string // what each stale read showed
	Slowest    time.Duration
}

// CheckReads checks reads, in the order each context made them.
func CheckReads(reads []Read) Reads {
	var h Reads
	last := map[int]int{}
	for _, rd := range reads {
		h.Reads++
		h.Slowest = max(h.Slowest, rd.End.Sub(rd.Start))
		if rd.Err != nil {
			h.Failed++
			continue
		}
		prev, seen := last[rd.Ctx]
		if rd.Saw < rd.Want || (seen && rd.Saw < prev) {
			h.Stale++
			h.StaleReads = append(h.StaleReads, fmt.Sprintf("context %d, read %s-%s on port %d: its last acknowledged write %d, saw %d, an earlier read saw %d",
				rd.Ctx, rd.Start.Format("15:04:05.000"), rd.End.Format("15:04:05.000"), rd.Port, rd.Want, rd.Saw, prev))
		}
		if !seen || rd.Saw > prev {
			last[rd.Ctx] = rd.Saw
		}
	}
	return h
}
