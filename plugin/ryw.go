package plugin

import (
	"context"
	"sync/atomic"
	"time"
)

type rywKey struct{}

// rywState is shared by every statement made with one read-your-writes
// context.
type rywState struct {
	dirty atomic.Bool  // a write happened since target was read
	lsn   atomic.Int64 // the primary's WAL position after the last write
}

// WithReadYourWrites returns a context with which every Auto read sees every
// write made with the same context: after a write, reads go only to replicas
// that have replayed the primary's WAL position (waiting up to
// read_your_writes_timeout), else to the primary.
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
// see (COPY on a raw connection, say): the next Auto read made with ctx waits
// for it like for any other write. It does nothing for other contexts.
func MarkWritten(ctx context.Context) { wrote(ctx) }

// wrote marks a successful write made with ctx.
func wrote(ctx context.Context) {
	if st := rywFrom(ctx); st != nil {
		st.dirty.Store(true)
	}
}

const (
	currentLSNSQL = `SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint`
	replayLSNSQL  = `SELECT COALESCE((pg_last_wal_replay_lsn() - '0/0')::bigint, 0)`
)

// pickFresh picks a replica that has replayed the context's last write, or
// the primary. It runs only for reads made with WithReadYourWrites.
func (r *route) pickFresh(ctx context.Context, st *rywState) (*pool, error) {
	if st.dirty.Load() {
		t := r.p.topo.Load()
		if t.primary == nil {
			return r.pick(0)
		}
		var lsn int64
		if err := t.primary.pools[poolWrite].queryRow(ctx, false, currentLSNSQL).Scan(&lsn); err != nil {
			return r.primaryPool()
		}
		st.dirty.Store(false)
		if lsn > st.lsn.Load() {
			st.lsn.Store(lsn)
		}
	}
	target := st.lsn.Load()
	if target == 0 {
		return r.pick(0)
	}
	deadline := time.Now().Add(r.p.opts.ReadYourWritesTimeout)
	for {
		t := r.p.topo.Load()
		for _, n := range t.replicas {
			if n.lsn.Load() >= target {
				return n.pools[poolRead], nil
			}
		}
		for _, n := range t.replicas {
			var replayed int64
			if err := n.pools[poolRead].queryRow(ctx, false, replayLSNSQL).Scan(&replayed); err == nil && replayed >= target {
				n.lsn.Store(replayed)
				return n.pools[poolRead], nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return r.primaryPool()
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// primaryPool is where a read goes when no replica is fresh enough.
func (r *route) primaryPool() (*pool, error) {
	t := r.p.topo.Load()
	if t.primary == nil {
		return nil, ErrNoPrimary
	}
	return t.primary.pools[r.kind], nil
}
