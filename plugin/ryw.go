package plugin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

type rywKey struct{}

// rywState is shared by every statement made with one read-your-writes
// context.
//
// Writes are counted rather than flagged: a read that asks the primary for
// its WAL position covers only the writes counted before it asked (they
// committed before their count went up). A write that finishes while the
// question is in flight stays uncovered, and the next read asks again.
type rywState struct {
	writes  atomic.Uint64 // writes made with the context
	covered atomic.Uint64 // writes known to be in lsn
	lsn     atomic.Int64  // reads must reach it: it has the covered writes and what earlier reads may have shown
	// last is the node of the context's last read. Reads stay on it while
	// it is fresh enough (its replay only moves forward), and move only to a
	// node that has replayed what it may have shown: monotonic reads.
	last atomic.Pointer[cluster.Node]
	// instance: the plugin's own state (read_your_writes_scope: instance),
	// shared by every Auto read. It keeps no last node: reads of unrelated
	// goroutines are not bound to one replica (see Plugin.inst).
	instance bool
	// named holds the context's state for each named cluster (*site ->
	// *rywState): WAL positions of two clusters cannot be compared. The
	// state itself is the default cluster's.
	named sync.Map
}

// of is st's state for the cluster of s: st itself for the default one.
func (st *rywState) of(s *site) *rywState {
	if s == nil || !s.named || st.instance {
		return st
	}
	if v, ok := st.named.Load(s); ok {
		return v.(*rywState)
	}
	v, _ := st.named.LoadOrStore(s, &rywState{})
	return v.(*rywState)
}

// WithReadYourWrites returns a context with which every Auto read sees every
// write made with the same context: after a write, reads go only to replicas
// that have replayed the primary's WAL position (waiting up to
// read_your_writes_timeout), else to the primary. Reads are also monotonic:
// none shows older data than an earlier read made with the context.
func WithReadYourWrites(ctx context.Context) context.Context {
	if rywFrom(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, rywKey{}, &rywState{})
}

func rywFrom(ctx context.Context) *rywState {
	st, _ := ctx.Value(rywKey{}).(*rywState)
	return st
}

// MarkWritten tells read-your-writes that ctx made a write the plugin did not
// see (COPY on a raw connection, say) on the default cluster: the next Auto
// read made with ctx waits for it like for any other write. It does nothing
// for other contexts.
func MarkWritten(ctx context.Context) { wrote(ctx, nil) }

// wrote marks a successful write made with ctx on the cluster of s (nil:
// the default one).
func wrote(ctx context.Context, s *site) {
	if st := rywFrom(ctx); st != nil {
		st.of(s).writes.Add(1)
	}
}

// wrote marks a successful write made with ctx on s: for ctx, and for
// the instance with read_your_writes_scope: instance.
func (s *site) wrote(ctx context.Context) {
	wrote(ctx, s)
	if s.inst != nil {
		s.inst.writes.Add(1)
	}
}

const (
	currentLSNSQL = `SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint`
	replayLSNSQL  = `SELECT COALESCE((pg_last_wal_replay_lsn() - '0/0')::bigint, 0)`
)

// target returns the WAL position a read must see: the primary's position
// after the context's writes, asked of current when a write happened since
// it was last asked.
func (st *rywState) target(ctx context.Context, current func(context.Context) (int64, error)) (int64, error) {
	return targetOf(ctx, current, st, nil)
}

// targetOf is target for a read that must see the writes of a and of b (the
// instance's, or nil): one question covers both, and is asked after both
// counts were read.
func targetOf(ctx context.Context, current func(context.Context) (int64, error), a, b *rywState) (int64, error) {
	wa := a.writes.Load()
	ask := wa > a.covered.Load()
	var wb uint64
	if b != nil {
		wb = b.writes.Load()
		ask = ask || wb > b.covered.Load()
	}
	if ask {
		lsn, err := current(ctx)
		if err != nil {
			return 0, err
		}
		// lsn first: a read that sees covered >= its writes must find an
		// lsn that has them.
		raise(&a.lsn, lsn)
		raise(&a.covered, wa)
		if b != nil {
			raise(&b.lsn, lsn)
			raise(&b.covered, wb)
		}
	}
	if b != nil {
		return max(a.lsn.Load(), b.lsn.Load()), nil
	}
	return a.lsn.Load(), nil
}

// raise sets a to v unless it already holds more; concurrent raises keep the
// highest.
func raise[T int64 | uint64](a interface {
	Load() T
	CompareAndSwap(old, new T) bool
}, v T) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// pickFresh picks a replica that has replayed the context's last write, or
// the primary. It runs only for reads made with WithReadYourWrites.
func (r *route) pickFresh(ctx context.Context, st *rywState) (*cluster.Pool, error) {
	t := r.s.c.Topology()
	var also *rywState // the instance's writes too, for a context's read
	if inst := r.s.inst; inst != nil && inst != st {
		also = inst
	}
	target, err := targetOf(ctx, func(ctx context.Context) (lsn int64, err error) {
		if t.Primary == nil {
			return 0, ErrNoPrimary
		}
		return r.p.askLSNNow(ctx, t.Primary.Pools[cluster.PoolWrite], currentLSNSQL, time.Now().Add(r.s.opts.ProbeTimeout))
	}, st, also)
	if err != nil {
		// Without a primary the context's last writes cannot be located:
		// wait for one (noNode) rather than read a replica that may miss them.
		// With the primary's pool full, the read waits for it once, not
		// once to ask and once to read.
		return r.primaryPool()
	}
	if last := st.last.Load(); last != nil && !st.instance {
		if last == t.Primary {
			return r.primaryPool()
		}
		if inRotation(t, last) && last.LSN.Load() >= target && !last.Pools[cluster.PoolRead].Full() {
			return last.Pools[cluster.PoolRead], nil
		}
		// Moving to another node: it must have replayed what last may have
		// shown, which is at most last's position now.
		bound, err := r.positionOf(ctx, t, last)
		if err != nil {
			return r.primaryPool()
		}
		raise(&st.lsn, bound)
		target = max(target, bound)
	}
	if target == 0 {
		return r.pick(0)
	}
	deadline := time.Now().Add(r.s.opts.ReadYourWritesTimeout)
	// A replica streaming well replays a write within a millisecond or so:
	// poll it soon, then less often.
	poll := time.Millisecond
	for {
		t := r.s.c.Topology()
		if n := r.s.freshReplica(t, target); n != nil {
			return n.Pools[cluster.PoolRead], nil
		}
		for _, n := range t.Replicas {
			if wait := r.s.opts.ReadYourWritesTimeout; wait > 0 && time.Duration(n.RTT.Load()) > wait {
				// Its answer would come after the wait: asking would only
				// make the read slower (a new connection costs several
				// round trips). Its probe still reports its position.
				continue
			}
			until := deadline
			if floor := time.Now().Add(minAsk); until.Before(floor) {
				until = floor
			}
			if replayed, err := r.p.askLSNNow(ctx, n.Pools[cluster.PoolRead], replayLSNSQL, until); err == nil && replayed >= target {
				n.LSN.Store(replayed)
				return n.Pools[cluster.PoolRead], nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return r.primaryPool()
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
		poll = min(2*poll, 5*time.Millisecond)
	}
}

// positionOf returns an upper bound of what a read on n may have shown: its
// replay position now, or the primary's position when n does not answer.
func (r *route) positionOf(ctx context.Context, t *cluster.Topology, n *cluster.Node) (lsn int64, err error) {
	// n may be down or hung (it left rotation): ask it no longer than a probe.
	until := time.Now().Add(r.s.opts.ProbeTimeout)
	lsn, err = r.p.askLSNNow(ctx, n.Pools[cluster.PoolRead], replayLSNSQL, until)
	if err == nil && lsn > 0 {
		n.LSN.Store(lsn)
		return lsn, nil
	}
	if t.Primary == nil {
		return 0, ErrNoPrimary
	}
	return r.p.askLSNNow(ctx, t.Primary.Pools[cluster.PoolWrite], currentLSNSQL, until)
}

// askLSN asks pl's node for a WAL position (currentLSNSQL or replayLSNSQL):
// the read-your-writes logic's only contact with a server, which its fast
// tests replace (Plugin.lsnSeam).
func (p *Plugin) askLSN(ctx context.Context, pl *cluster.Pool, query string) (lsn int64, err error) {
	if p.lsnSeam != nil {
		return p.lsnSeam(ctx, pl, query)
	}
	err = poolQueryRow(ctx, pl, false, query).Scan(&lsn)
	return lsn, err
}

func inRotation(t *cluster.Topology, n *cluster.Node) bool {
	for _, r := range t.Replicas {
		if r == n {
			return true
		}
	}
	return false
}

// served records the node of a successful read made with a read-your-writes
// context.
func (r *route) served(ctx context.Context, pl *cluster.Pool) {
	if st := r.fresh(ctx); st != nil && !st.instance {
		st.last.Store(pl.Node)
	}
}

// primaryPool is where a read goes when no replica is fresh enough.
func (r *route) primaryPool() (*cluster.Pool, error) {
	t := r.s.c.Topology()
	if t.Primary == nil {
		return nil, ErrNoPrimary
	}
	return t.Primary.Pools[r.kind], nil
}
