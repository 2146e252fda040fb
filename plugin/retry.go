package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// verdict is what classify decides about a failed attempt.
type verdict uint8

const (
	stop verdict = iota
	retry
)

// classify decides whether a failed attempt may be retried elsewhere, and
// turns driver errors into the plugin's errors when it may not.
func (r *route) classify(ctx context.Context, op string, pl *cluster.Pool, err error, idempotent bool, refusals *int) (verdict, error) {
	if ctx.Err() != nil {
		if !idempotent && outcomeUnknown(err) {
			return stop, newNodeError(pl, r.mode, op, fmt.Errorf("%w: the context ended while it ran: %w", ErrOutcomeUnknown, err))
		}
		return stop, err
	}
	if cluster.ReadOnlyRefusal(err) {
		if pl.Kind == cluster.PoolRead {
			return stop, newNodeError(pl, r.mode, op, fmt.Errorf("%w: %w", ErrReadOnly, err))
		}
		// A write pool's node became a standby. 25006 proves the statement
		// did not run, so it may be retried once on the new primary.
		pl.Node.Report(err)
		*refusals++
		if *refusals > 1 {
			return stop, newNodeError(pl, r.mode, op, fmt.Errorf("%w: %w: %w", ErrNoPrimary, ErrReadOnly, err))
		}
		return retry, nil
	}
	if !cluster.ConnectionClass(err) {
		return stop, err
	}
	pl.Node.Report(err)
	if idempotent || !sent(err) {
		return retry, nil
	}
	return stop, newNodeError(pl, r.mode, op, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err))
}

// retryLoop re-runs do on other nodes after a retryable failure of first.
// It waits for the topology to change (new primary, node back) when every
// candidate has failed, up to failover_timeout.
func (r *route) retryLoop(ctx context.Context, op string, first *cluster.Pool, firstErr error, idempotent bool, do func(*cluster.Pool) error) error {
	return r.retryUntil(ctx, op, time.Now().Add(r.s.opts.FailoverTimeout), first, firstErr, idempotent, do)
}

// retryUntil is retryLoop with the caller's deadline, so that a call which
// already waited for a node does not get a second failover_timeout.
func (r *route) retryUntil(ctx context.Context, op string, deadline time.Time, first *cluster.Pool, firstErr error, idempotent bool, do func(*cluster.Pool) error) error {
	var (
		tried    cluster.NodeMask
		refusals int
		pl, err  = first, firstErr
		fresh    = r.fresh(ctx)
		backoff  = 20 * time.Millisecond
	)
	for {
		v, ferr := r.classify(ctx, op, pl, err, idempotent, &refusals)
		if v == stop {
			return bare(ferr)
		}
		tried.Add(pl.Node)
		next, perr := r.pick(tried)
		if perr == nil && fresh != nil && next.Node != r.s.c.Topology().Primary {
			// A replica other than the one checked may be behind the
			// context's writes: retry a read-your-writes read on the primary.
			next, perr = r.primaryPool()
			if perr == nil && tried.Has(next.Node) {
				perr = ErrNoPrimary
			}
		}
		for perr != nil {
			if errors.Is(perr, ErrClosed) {
				return perr
			}
			if r.s.c.Hopeless() {
				return newNodeError(pl, r.mode, op, r.s.c.Unavailable(perr))
			}
			remaining := time.Until(deadline)
			if remaining <= 0 {
				u := r.s.c.Unavailable(perr)
				u.Within = r.s.opts.FailoverTimeout
				return newNodeError(pl, r.mode, op, fmt.Errorf("%w; last error: %w", u, err))
			}
			if werr := r.s.c.WaitChange(ctx, min(cluster.Jitter(backoff, 0.5), remaining)); werr != nil {
				if errors.Is(werr, ErrClosed) {
					return newNodeError(pl, r.mode, op, fmt.Errorf("%w: %w; last error: %w", perr, werr, err))
				}
				return newNodeError(pl, r.mode, op, fmt.Errorf("%w: %w; last error: %w", r.s.c.Unavailable(perr), werr, err))
			}
			backoff = min(backoff*2, 500*time.Millisecond)
			tried = 0
			if fresh != nil {
				// A replica may miss the context's writes: as noNode, ask
				// again where they can be read (a fresh replica, else the
				// primary), never any replica in rotation.
				next, perr = r.first(ctx)
			} else {
				next, perr = r.pick(tried)
			}
		}
		pl = next
		if r.p.opts.Debug {
			r.p.debug("unifieddb: retrying", "mode", r.mode.String(), "node", pl.Node.Name, "after", err)
		}
		if err = admitted(ctx, pl, do); err == nil {
			return nil
		}
	}
}

// noNode handles a first pick that found no node: wait for one up to
// failover_timeout, then run do on it. It fails at once, with each node's
// fault, when waiting cannot cure them (see machine.unavailable).
func (r *route) noNode(ctx context.Context, op string, perr error, do func(*cluster.Pool) error) error {
	if errors.Is(perr, ErrClosed) {
		return perr
	}
	deadline := time.Now().Add(r.s.opts.FailoverTimeout)
	backoff := 20 * time.Millisecond
	for {
		if r.s.c.Hopeless() {
			return r.s.c.Unavailable(perr) // waiting cannot cure it: say why now
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			u := r.s.c.Unavailable(perr)
			u.Within = r.s.opts.FailoverTimeout
			return u
		}
		if err := r.s.c.WaitChange(ctx, min(cluster.Jitter(backoff, 0.5), remaining)); err != nil {
			if errors.Is(err, ErrClosed) {
				return fmt.Errorf("%w: %w", perr, err)
			}
			return fmt.Errorf("%w: %w", r.s.c.Unavailable(perr), err)
		}
		backoff = min(backoff*2, 500*time.Millisecond)
		pl, err := r.first(ctx) // read-your-writes is checked again
		if err != nil {
			perr = err
			continue
		}
		if err := admitted(ctx, pl, do); err != nil {
			return r.retryUntil(ctx, op, deadline, pl, err, r.read, do)
		}
		return nil
	}
}

// admitted runs do on pl for a caller released by a topology change or
// retrying after a failure: a few at a time on a pool with no idle
// connection yet, so that a fleet's waiting writers do not each open a
// connection to the node that just came up (cluster.Pool.Admit).
func admitted(ctx context.Context, pl *cluster.Pool, do func(*cluster.Pool) error) error {
	leave, err := pl.Admit(ctx)
	if err != nil {
		return &unsentError{err}
	}
	defer leave()
	return do(pl)
}
