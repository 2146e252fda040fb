package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/prompt-improver/unifieddb/datalayer"
	histcheck "github.com/prompt-improver/unifieddb/internal/history"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
)

// A history check, as systems that must not lose writes are tested (issue
// 10): every write of a load is recorded (start, end, result) and checked
// afterwards against the rows on the primary. A write whose result is
// known must be there exactly as its result says; a write whose outcome is
// unknown may be there once or not at all, never twice. Reads made with a
// read-your-writes context (rywread_test.go) must see the context's
// acknowledged writes and never go backwards.

// history is the verdict of one load.
type history struct {
	ops, acked, unknown, notSent int
	// lost: acknowledged but absent. duplicated: present more than once.
	// phantom: reported failed before it was sent, yet present.
	lost, duplicated, phantom int
	// other: failed with an error that says neither "not sent" nor
	// "outcome unknown" (nothing can be said of the row).
	other   []error
	slowest time.Duration
	// reads: reads of the load; readsFailed: those that returned an error.
	// stale: read-your-writes reads that missed one of their context's
	// acknowledged writes or showed less than an earlier read of the
	// context (checkReads); checked says whether any read was checked so.
	reads, readsFailed, stale int
	rywChecked                bool
	staleReads                []string // what each stale read showed
}

// notSent: the error says the write never reached a server.
func notSent(err error) bool { return histcheck.NotSent(err) }

// checkHistory compares the writes rs of writeOp with rows, the count of
// each (worker, seq) on the primary (writesOn), with internal/history.
func checkHistory(rs []loadgen.Result, rows map[[2]int]int) history {
	w := histcheck.CheckWrites(rs, rows)
	return history{ops: w.Ops, acked: w.Acked, unknown: w.Unknown, notSent: w.NotSent,
		lost: w.Lost, duplicated: w.Duplicated, phantom: w.Phantom, other: w.Other, slowest: w.Slowest}
}

// readHistory is the history of a load of plain reads (rs): ops, failures
// and the slowest; no write to check, no read-your-writes context.
func readHistory(rs []loadgen.Result) history {
	var h history
	for _, r := range rs {
		h.reads++
		h.slowest = max(h.slowest, r.End.Sub(r.Start))
		if r.Err != nil {
			h.readsFailed++
		}
	}
	return h
}

// row is h as a row of the table: fault | ops | failed | outcome
// unknown | lost | duplicated | stale | slowest. ops and failed count reads
// and writes; "-" where there was nothing to check (no writes, or no
// read-your-writes reads).
func (h history) row(fault string) string {
	writeCol := func(n int) string {
		if h.ops == 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	stale := "-"
	if h.rywChecked {
		stale = fmt.Sprint(h.stale)
	}
	failed := h.ops - h.acked + h.readsFailed
	return fmt.Sprintf("| %s | %d | %d | %s | %s | %s | %s | %s |", fault, h.ops+h.reads, failed,
		writeCol(h.unknown), writeCol(h.lost), writeCol(h.duplicated), stale, fmtSlowest(h.slowest))
}

// fmtSlowest rounds to what a table shows: milliseconds below 1 s.
func fmtSlowest(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// assertHistory fails t on a lost, duplicated or phantom write or a stale
// read-your-writes read, and logs the history's row of the table.
func assertHistory(t *testing.T, fault string, h history) {
	t.Helper()
	t.Logf("history %s", h.row(fault))
	t.Logf("history detail of %s: %d writes (%d acknowledged, %d outcome unknown, %d not sent, %d other, %d phantom), %d reads (%d failed, %d stale)",
		fault, h.ops, h.acked, h.unknown, h.notSent, len(h.other), h.phantom, h.reads, h.readsFailed, h.stale)
	for _, s := range h.staleReads {
		t.Logf("stale read of %s: %s", fault, s)
	}
	if h.lost > 0 || h.duplicated > 0 || h.phantom > 0 || h.stale > 0 {
		t.Errorf("history of %s: %d acknowledged writes lost, %d duplicated, %d reported not sent yet present, %d stale read-your-writes reads",
			fault, h.lost, h.duplicated, h.phantom, h.stale)
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
	assert.Equal(t, "| f | 7 | 5 | 2 | 1 | 1 | - | 7ms |", h.row("f"))
	assert.Equal(t, "| r | 2 | 1 | - | - | - | - | 2.0 s |", readHistory([]loadgen.Result{
		{Start: t0, End: t0.Add(2 * time.Second)}, {Start: t0, End: t0, Err: errors.New("x")}}).row("r"))
}
