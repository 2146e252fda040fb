package plugin

import (
	"context"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// SyncReplicas waits until every replica in read rotation has replayed the
// primary's current WAL position, for at most timeout, so that reads after a
// migration see the new schema. Every replica short of that position then
// stays out of rotation (or out, for one that was out already: down,
// lagging) until a probe shows it past it. It returns an error only when
// ctx ends, the plugin is closed, or the primary cannot be asked.
// With several clusters it does so on each, one after the other.
func (p *Plugin) SyncReplicas(ctx context.Context, timeout time.Duration) error {
	if p.closed.Load() {
		return ErrClosed
	}
	for _, s := range p.allSites() {
		if err := p.syncReplicas(ctx, s.c, timeout); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plugin) syncReplicas(ctx context.Context, c *cluster.Cluster, timeout time.Duration) error {
	t := c.Topology()
	if t.Primary == nil {
		return nil
	}
	target, err := p.askLSN(ctx, t.Primary.Pools[cluster.PoolWrite], currentLSNSQL)
	if err != nil {
		return err
	}
	waiting := append([]*cluster.Node(nil), t.Replicas...)
	deadline := time.Now().Add(timeout)
	for {
		waiting = p.stillBehind(ctx, c, waiting, target, deadline)
		if len(waiting) == 0 {
			// Those in rotation have it; a replica out of rotation now
			// must not come back without it.
			c.Fence(target)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			c.Fence(target)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Closing():
			return ErrClosed
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stillBehind asks each replica for its replay position (each question
// bounded by the deadline) and returns those short of target.
func (p *Plugin) stillBehind(ctx context.Context, c *cluster.Cluster, nodes []*cluster.Node, target int64, deadline time.Time) []*cluster.Node {
	var behind []*cluster.Node
	for _, n := range nodes {
		qctx, cancel := context.WithDeadline(ctx, deadline)
		replayed, err := p.askLSN(qctx, n.Pools[cluster.PoolRead], replayLSNSQL)
		cancel()
		if err == nil && replayed >= target {
			c.Replayed(n, replayed)
			continue
		}
		behind = append(behind, n)
	}
	return behind
}
