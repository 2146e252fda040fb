package plugin

import (
	"context"
	"errors"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// errPoolBusy: a WAL position question found its pool without a free
// connection.
var errPoolBusy = errors.New("unifieddb: no free connection to ask for a WAL position")

// askLSNNow asks pl's node for a WAL position (see askLSN) without waiting
// for a connection, and gives up at until. A freshness question is never
// worth pool_timeout: its answer only chooses between a replica and the
// primary, and the primary is always fresh, so a full pool answers
// errPoolBusy at once and the read goes where it needs no answer.
func (p *Plugin) askLSNNow(ctx context.Context, pl *cluster.Pool, query string, until time.Time) (int64, error) {
	if pl.Full() {
		return 0, errPoolBusy
	}
	qctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	return p.askLSN(qctx, pl, query)
}

// minAsk is the least time a replica is given to answer a question about its
// replay position, even at the end of read_your_writes_timeout.
const minAsk = 10 * time.Millisecond

// freshReplica returns a replica in rotation known to have replayed target
// and with a free connection (a read-your-writes read does not queue on a
// replica when the primary would do), starting where the replica policy
// says, or nil.
func (s *site) freshReplica(t *cluster.Topology, target int64) *cluster.Node {
	k := len(t.Replicas)
	if k == 0 {
		return nil
	}
	start := s.c.PolicyStart(k)
	for i := range k {
		n := t.Replicas[(start+i)%k]
		if n.LSN.Load() >= target && !n.Pools[cluster.PoolRead].Full() {
			return n
		}
	}
	return nil
}
