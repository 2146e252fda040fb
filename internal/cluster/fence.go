package cluster

// After a migration (the query path's SyncReplicas) replicas short of the
// primary's WAL position must serve no reads until they replayed it.

// Fence keeps replicas whose last known replay position is short of lsn out
// of rotation until a probe shows them past it.
func (c *Cluster) Fence(lsn int64) { c.step(event{kind: evFence, lsn: lsn}) }

// Replayed records that n was seen to have replayed lsn.
func (c *Cluster) Replayed(n *Node, lsn int64) {
	c.step(event{kind: evReplayed, node: n, lsn: lsn})
	n.LSN.Store(max(n.LSN.Load(), lsn))
}
