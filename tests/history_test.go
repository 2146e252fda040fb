package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
)

// A history check, as systems that must not lose writes are tested (issue
// 10): every write of a load is recorded (start, end, result) and checked
// afterwards against the rows on the primary. A write whose result is
// known must be there exactly as its result says; a write whose outcome is
// unknown may be there once or not at all, never twice.

// history is the verdict of one write load.
type history struct {
	ops, acked, unknown, notSent int
	// lost: acknowledged but absent. duplicated: present more than once.
	// phantom: reported failed before it was sent, yet present.
	lost, duplicated, phantom int
	// other: failed with an error that says neither "not sent" nor
	// "outcome unknown" (nothing can be said of the row).
	other   []error
	slowest time.Duration
}

// notSent: the error says the write never reached a server.
func notSent(err error) bool {
	return errors.Is(err, datalayer.ErrNoPrimary) || errors.Is(err, datalayer.ErrNoHealthyNode) ||
		errors.Is(err, datalayer.ErrPoolTimeout) || errors.Is(err, datalayer.ErrClosed)
}

// checkHistory compares the writes rs of writeOp with rows, the count of
// each (worker, seq) on the primary (writesOn).
func checkHistory(rs []loadgen.Result, rows map[[2]int]int) history {
	var h history
	for _, r := range rs {
		h.ops++
		h.slowest = max(h.slowest, r.End.Sub(r.Start))
		n := rows[[2]int{r.Worker, r.Seq}]
		if n > 1 {
			h.duplicated++
		}
		switch {
		case r.Err == nil:
			h.acked++
			if n == 0 {
				h.lost++
			}
		case errors.Is(r.Err, datalayer.ErrOutcomeUnknown):
			h.unknown++
		case notSent(r.Err):
			h.notSent++
			if n > 0 {
				h.phantom++
			}
		default:
			h.other = append(h.other, fmt.Errorf("write %d/%d: %w", r.Worker, r.Seq, r.Err))
		}
	}
	return h
}

// assertHistory fails t on a lost, duplicated or phantom write and logs the
// history's row of the table.
func assertHistory(t *testing.T, fault string, h history) {
	t.Helper()
	t.Logf("history | %s | %d ops | %d acked | %d outcome unknown | %d not sent | %d other | %d lost | %d duplicated | %d phantom | slowest %s",
		fault, h.ops, h.acked, h.unknown, h.notSent, len(h.other), h.lost, h.duplicated, h.phantom, h.slowest.Round(time.Millisecond))
	if h.lost > 0 || h.duplicated > 0 || h.phantom > 0 {
		t.Errorf("history of %s: %d acknowledged writes lost, %d duplicated, %d reported not sent yet present", fault, h.lost, h.duplicated, h.phantom)
	}
}

// TestCheckHistory: the check finds what it must find.
func TestCheckHistory(t *testing.T) {
	t0 := time.Now()
	w := func(seq int, err error) loadgen.Result {
		return loadgen.Result{Worker: 1, Seq: seq, Start: t0, End: t0.Add(time.Duration(seq) * time.Millisecond), Err: err}
	}
	rs := []loadgen.Result{
		w(1, nil), // present once: fine
		w(2, nil), // absent: lost
		w(3, fmt.Errorf("insert: %w", datalayer.ErrOutcomeUnknown)), // present: fine
		w(4, datalayer.ErrOutcomeUnknown),                           // present twice: duplicated
		w(5, fmt.Errorf("insert: %w", datalayer.ErrNoPrimary)),      // present: phantom
		w(6, datalayer.ErrNoPrimary),                                // absent: fine
		w(7, errors.New("raw driver error")),                        // other
	}
	rows := map[[2]int]int{{1, 1}: 1, {1, 3}: 1, {1, 4}: 2, {1, 5}: 1}
	h := checkHistory(rs, rows)
	if h.ops != 7 || h.acked != 2 || h.unknown != 2 || h.notSent != 2 || len(h.other) != 1 ||
		h.lost != 1 || h.duplicated != 1 || h.phantom != 1 || h.slowest != 7*time.Millisecond {
		t.Fatalf("checkHistory = %+v", h)
	}
}
