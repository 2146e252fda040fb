package cluster

import (
	"context"
	"database/sql/driver"

	"github.com/jackc/pgx/v5"
)

// A node's epoch changes each time its writability does: demoted (or
// refused a write), or found writable again. A pooled connection of a
// write pool dialled before the last change is discarded when it is next
// taken from the pool, before anything is sent on it.
//
// Without a proxy this only spares a write the 25006 of a connection to a
// node that was demoted and promoted again. Behind a proxy (HAProxy on
// Patroni's /primary check) it is what keeps writes off the old primary:
// the node's address stays the same while the server behind it changes, so
// connections opened before the switch still reach the old server, now a
// standby, and nothing but their age tells them apart.

// newEpoch starts a new epoch of n: every connection dialled so far is stale.
func (n *Node) newEpoch() { n.conns.epoch.Add(1) }

// staleConn is pgx's reset hook of the write pools: a connection dialled
// before the node's current epoch is bad, so database/sql drops it and
// takes or opens another.
func staleConn(_ context.Context, c *pgx.Conn) error {
	if tc := tracked(c.PgConn().Conn()); tc != nil && tc.epoch < tc.set.epoch.Load() {
		return driver.ErrBadConn
	}
	return nil
}
