package plugin

import (
	"context"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// opKind says what a statement may do, which decides where it may go and
// whether it may be retried.
type opKind uint8

const (
	opRead        opKind = iota // a model read: no side effects, may be retried elsewhere
	opWrite                     // a write or raw SQL: primary, retried only when provably not run
	opPrimaryRead               // a model read that must see the primary (FirstOrCreate's, a locking read): placed as a write, retried as a read

	opKinds = iota
)

// route is a gorm.ConnPool that picks a node at call time. The callbacks put
// one route per (mode, op) on each statement; routes are built once, so
// routing allocates nothing.
type route struct {
	p        *Plugin
	s        *site // the cluster it routes to
	mode     Mode
	kind     cluster.PoolKind // the pool used on the primary
	replicas bool             // prefer replicas (their read pool)
	read     bool             // idempotent: a connection error may be retried on another node
	prep     bool             // run statements prepared, per pool (Session{PrepareStmt: true})
	roTx     bool             // run each statement in a read-only transaction (ReadOnly behind a pooler)
	prepared *route           // this route's twin with prep set
	lazy     bool             // an entry that begins transactions lazily (lazytx.go)
}

func newRoutes(p *Plugin, s *site) (routes [modeCount][opKinds]*route) {
	for m := Mode(0); m < modeCount; m++ {
		for op := opKind(0); op < opKinds; op++ {
			r := &route{p: p, s: s, mode: m, read: op != opWrite}
			switch m {
			case Auto:
				r.kind, r.replicas = cluster.PoolWrite, op == opRead
			case ReadOnly:
				// Read-only sessions everywhere: the server refuses writes too,
				// so every statement is safe to retry.
				r.kind, r.replicas, r.read = cluster.PoolRead, true, true
				r.roTx = s.opts.TransactionPooling
			case ReadWrite:
				r.kind = cluster.PoolWrite
			case Batch:
				r.kind = cluster.PoolBatch
			case Transactional:
				r.kind = cluster.PoolTx
			}
			twin := *r
			twin.prep = true
			r.prepared = &twin
			routes[m][op] = r
		}
	}
	return routes
}

// mark asks the driver for a read-only transaction per statement where the
// route needs one (see rotx.go).
func (r *route) mark(ctx context.Context) context.Context {
	if r.roTx {
		return withReadOnlyTx(ctx)
	}
	return ctx
}

// fresh returns the read-your-writes state whose writes reads of this route
// must see: the context's, else the instance's (nil when off), or nil.
func (r *route) fresh(ctx context.Context) *rywState {
	if r.mode != Auto || !r.replicas {
		return nil
	}
	if st := rywFrom(ctx); st != nil {
		return st.of(r.s)
	}
	return r.s.inst
}

// first picks the pool of a statement's first attempt.
func (r *route) first(ctx context.Context) (pl *cluster.Pool, err error) {
	if st := r.fresh(ctx); st != nil {
		pl, err = r.pickFresh(ctx, st)
	} else {
		pl, err = r.pick(0)
	}
	if r.p.opts.Debug && err == nil {
		r.p.debug("unifieddb: routed", "mode", r.mode.String(), "node", pl.Node.Name, "pool", pl.Kind.String())
	}
	return pl, err
}

// done records a successful write for read-your-writes contexts.
func (r *route) done(ctx context.Context) {
	if !r.read {
		r.s.wrote(ctx)
	}
}

// pick chooses the pool for the next attempt, skipping nodes in tried.
func (r *route) pick(tried cluster.NodeMask) (*cluster.Pool, error) {
	if r.p.closed.Load() {
		return nil, ErrClosed
	}
	t := r.s.c.Topology()
	if r.replicas {
		if n := r.s.c.PickReplica(t, tried); n != nil {
			return n.Pools[cluster.PoolRead], nil
		}
		if !r.s.opts.FallbackToPrimary {
			return nil, ErrNoHealthyNode
		}
	}
	if t.Primary == nil || tried.Has(t.Primary) {
		if r.replicas {
			return nil, ErrNoHealthyNode
		}
		return nil, ErrNoPrimary
	}
	return t.Primary.Pools[r.kind], nil
}

// run runs do on the first pool, retried where that is safe, and records a
// successful write for read-your-writes contexts.
func (r *route) run(ctx context.Context, op string, do func(*cluster.Pool) error) error {
	pl, err := r.first(ctx)
	if err != nil {
		err = r.noNode(ctx, op, err, do)
	} else if err = do(pl); err != nil {
		err = r.retryLoop(ctx, op, pl, err, r.read, do)
	}
	if err == nil {
		r.done(ctx)
	}
	return err
}
