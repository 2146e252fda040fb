package tests

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/prompt-improver/unifieddb/datalayer"
	histcheck "github.com/prompt-improver/unifieddb/internal/history"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
)

// Read-your-writes readers for the history check: each worker of the load
// keeps one read-your-writes context for the whole load, and every request
// writes a row of its own (haWrite{Worker: rywWorker0 + w, Seq: seq}) and
// then reads back the highest Seq of its rows. The read must show the
// context's last acknowledged write, and never less than an earlier read
// of the context showed.

// rywWorker0 keeps the readers' rows apart from the writers' (workers 0..n).
const rywWorker0 = 1000

// rywRead is one read of a read-your-writes context.
type rywRead struct {
	ctx        int // the worker, whose context it is
	start, end time.Time
	err        error
	want       int // the context's last write acknowledged before the read, -1 for none
	saw        int // the highest of the context's writes the read showed, -1 for none
	port       int // the server that answered, for diagnostics
}

// rywReaders records the writes and reads of read-your-writes workers.
type rywReaders struct {
	m    *datalayer.Manager
	ctxs []context.Context // by worker: the value carrying its context

	mu     sync.Mutex
	writes []loadgen.Result
	reads  []rywRead
	acked  []int // by worker: its last acknowledged Seq
}

func newRYWReaders(m *datalayer.Manager, workers int) *rywReaders {
	r := &rywReaders{m: m}
	for range workers {
		r.ctxs = append(r.ctxs, datalayer.WithReadYourWrites(context.Background()))
		r.acked = append(r.acked, -1)
	}
	return r
}

// valuesOf is ctx (its deadline and cancellation) with the values of vals
// first: the load gives each request a fresh context, and the worker's
// read-your-writes context lives across requests.
type valuesOf struct {
	context.Context
	vals context.Context
}

func (c valuesOf) Value(key any) any {
	if v := c.vals.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// op is the load's request: a write, then a read.
func (r *rywReaders) op(ctx context.Context, w, seq int) error {
	rctx := valuesOf{Context: ctx, vals: r.ctxs[w]}
	wr := loadgen.Result{Worker: rywWorker0 + w, Seq: seq, Start: time.Now()}
	wr.Err = r.m.DB().WithContext(rctx).Create(&haWrite{Worker: rywWorker0 + w, Seq: seq}).Error
	wr.End = time.Now()
	r.mu.Lock()
	r.writes = append(r.writes, wr)
	if wr.Err == nil {
		r.acked[w] = seq
	}
	rd := rywRead{ctx: w, want: r.acked[w], saw: -1}
	r.mu.Unlock()

	rd.start = time.Now()
	var got struct {
		Saw  *int
		Port int
	}
	rd.err = r.m.DB().WithContext(rctx).Model(&haWrite{}).Where("worker = ?", rywWorker0+w).
		Select("max(seq) AS saw, inet_server_port() AS port").Scan(&got).Error
	rd.end = time.Now()
	if got.Saw != nil {
		rd.saw = *got.Saw
	}
	rd.port = got.Port
	r.mu.Lock()
	r.reads = append(r.reads, rd)
	r.mu.Unlock()
	return errors.Join(wr.Err, rd.err)
}

// history adds the readers' writes and reads to h, whose writes were
// checked against rows.
func (r *rywReaders) history(h history, rows map[[2]int]int) history {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := checkHistory(r.writes, rows)
	h.ops += w.ops
	h.acked += w.acked
	h.unknown += w.unknown
	h.notSent += w.notSent
	h.lost += w.lost
	h.duplicated += w.duplicated
	h.phantom += w.phantom
	h.other = append(h.other, w.other...)
	h.slowest = max(h.slowest, w.slowest)
	return checkReads(h, r.reads)
}

// checkReads adds reads, in the order each context made them, to h
// (internal/history's check).
func checkReads(h history, reads []rywRead) history {
	h.rywChecked = true
	rs := make([]histcheck.Read, len(reads))
	for i, rd := range reads {
		rs[i] = histcheck.Read{Ctx: rd.ctx, Start: rd.start, End: rd.end, Err: rd.err, Want: rd.want, Saw: rd.saw, Port: rd.port}
	}
	v := histcheck.CheckReads(rs)
	h.reads += v.Reads
	h.readsFailed += v.Failed
	h.stale += v.Stale
	h.staleReads = append(h.staleReads, v.StaleReads...)
	h.slowest = max(h.slowest, v.Slowest)
	return h
}

// TestCheckReads: the check finds a read that missed its write and one that
// went backwards.
func TestCheckReads(t *testing.T) {
	t0 := time.Now()
	rd := func(ctx, want, saw int, err error) rywRead {
		return rywRead{ctx: ctx, start: t0, end: t0.Add(time.Millisecond), want: want, saw: saw, err: err}
	}
	h := checkReads(history{}, []rywRead{
		rd(1, -1, -1, nil), // nothing written, nothing seen: fine
		rd(1, 0, 0, nil),   // fine
		rd(1, 1, 0, nil),   // missed write 1: stale
		rd(1, 1, 2, nil),   // saw an unknown-outcome write 2: fine
		rd(1, 1, 1, nil),   // went backwards from 2: stale
		rd(2, 0, -1, errors.New("x")),
		rd(2, 0, 0, nil), // another context: fine
		rd(3, -1, -1, nil),
		rd(3, -1, -1, nil), // still nothing: fine
	})
	assert.Equal(t, 9, h.reads)
	assert.Equal(t, 1, h.readsFailed)
	assert.Equal(t, 2, h.stale)
	assert.True(t, h.rywChecked)
}
