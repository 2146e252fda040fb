package cluster

import (
	"context"
	"database/sql/driver"
	"sync"
	"time"
)

// A node that comes up (a new primary, a restarted server) is where every
// instance of a fleet reconnects at once: each caller that waited for it
// would open a connection of its own, up to every pool's maximum, in the
// same few milliseconds, and N instances multiply that into a storm that
// can reach max_connections and fail the very writes that waited. Two
// small bounds per pool keep it down:
//
//   - dials: at most ConnectBurst connections of a pool are being opened
//     at once (gatedConnector);
//   - released: the callers a topology change releases (waiting for a
//     primary, retrying after a failover) run at most ConnectBurst at a
//     time on a pool that has no idle connection, each for its statement
//     or admitHold, whichever ends first (Pool.Admit); the next ones then
//     find the connections the first opened idle instead of opening more.
const (
	ConnectBurst = 2
	admitHold    = 100 * time.Millisecond
)

// gate is a counting semaphore; the nil gate admits everyone.
type gate chan struct{}

func newGate(n int) gate { return make(gate, n) }

func (g gate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g gate) leave() {
	if g != nil {
		<-g
	}
}

// gatedConnector opens at most its gate's size of connections at once.
type gatedConnector struct {
	driver.Connector
	dials gate
}

func (c gatedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := c.dials.enter(ctx); err != nil {
		return nil, err
	}
	defer c.dials.leave()
	return c.Connector.Connect(ctx)
}

// Admit lets a caller that a topology change released run on pl: at once
// when pl has an idle connection, else once it has one of pl's
// ConnectBurst turns. Call leave when the statement is done; the turn is
// given up after admitHold anyway. A caller that waits past pool_timeout
// for its turn gets a *PoolTimeoutError, as when it waits for a
// connection; one whose ctx ends, ctx's error.
func (pl *Pool) Admit(ctx context.Context) (leave func(), err error) {
	if pl.released == nil || pl.DB.Stats().Idle > 0 {
		return func() {}, nil
	}
	wctx, cancel := context.WithTimeout(ctx, pl.Wait)
	err = pl.released.enter(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			err = &PoolTimeoutError{Node: pl.Node.Name, Pool: pl.Kind.String(), Wait: pl.Wait, MaxOpen: int(pl.Max)}
		}
		return nil, err
	}
	var once sync.Once
	give := func() { once.Do(pl.released.leave) }
	hold := time.AfterFunc(admitHold, give)
	return func() {
		hold.Stop()
		give()
	}, nil
}
