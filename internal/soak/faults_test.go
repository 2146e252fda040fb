//go:build linux

package soak

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prompt-improver/unifieddb/internal/faultproxy"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

// The fault set of the Patroni scenarios (tests/patroni_scenarios_test.go)
// and of the hang and network tests, each a call of patronitest's (or
// faultproxy's) operations. A replica fault hits the replica that is not
// the synchronous standby: freezing the synchronous one stalls every
// commit, which the sync-stall tests cover, not a fleet soak.
var faultKinds = []string{"switchover", "leader killed", "machine lost", "replica killed", "replica hung", "link black-holed"}

// outage is how long a hung replica stays frozen and a link black-holed:
// longer than a probe's timeout (connection_timeout, 2 s), so the fleet
// takes the node out of rotation.
const outage = 8 * time.Second

// fleet is what a fault acts on.
type fleet struct {
	c       *patronitest.Cluster
	proxies map[*patronitest.Node]*faultproxy.Proxy
}

// asyncReplica is the replica that is not the synchronous standby.
func (f *fleet) asyncReplica(ctx context.Context) (*patronitest.Node, error) {
	leader, err := f.c.Leader(ctx)
	if err != nil {
		return nil, err
	}
	sync, err := f.c.SyncStandby(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range f.c.Nodes() {
		if n != leader && n != sync {
			return n, nil
		}
	}
	return nil, errors.New("soak: no asynchronous replica")
}

// inject runs the fault kind and returns the node it hit; it returns once
// the fault is over (a killed node started again), not once the cluster is
// healthy.
func (f *fleet) inject(ctx context.Context, kind string) (*patronitest.Node, error) {
	c := f.c
	leader, err := c.Leader(ctx)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "switchover":
		next, err := c.SyncStandby(ctx)
		if err != nil || next == nil {
			return leader, fmt.Errorf("soak: no synchronous standby to switch over to: %v", err)
		}
		return leader, c.Switchover(ctx, next)
	case "leader killed":
		return leader, c.KillPostgres(leader)
	case "machine lost":
		if err := c.KillNode(leader); err != nil {
			return leader, err
		}
		for {
			l, err := c.Leader(ctx)
			if err == nil && l != leader {
				break
			}
			select {
			case <-ctx.Done():
				return leader, fmt.Errorf("soak: no new leader after %s was lost: %w", leader.Name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
		time.Sleep(time.Second) // writes on the new leader before the old node returns
		return leader, c.StartNode(leader)
	}
	r, err := f.asyncReplica(ctx)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "replica killed":
		return r, c.KillPostgres(r)
	case "replica hung":
		thaw, err := c.Freeze(r)
		if err != nil {
			return r, err
		}
		time.Sleep(outage)
		return r, thaw()
	case "link black-holed":
		p := f.proxies[r]
		p.Blackhole(true)
		time.Sleep(outage)
		p.Blackhole(false)
		return r, nil
	}
	return nil, fmt.Errorf("soak: unknown fault %q", kind)
}
