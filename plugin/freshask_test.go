package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A freshness question never waits for a connection: a full pool is not
// asked, and the read goes where it is sure to be fresh.

// fill makes pl look exhausted: every connection it may open is held.
func fill(pl *cluster.Pool) {
	pl.Max = 1
	pl.Held.Store(1)
}

func TestReadYourWritesDoesNotAskAFullReplicaPool(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	MarkWritten(ctx)
	fill(ns[1].Pools[cluster.PoolRead])
	fill(ns[2].Pools[cluster.PoolRead])
	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 500, "n2": 500})
	pl, err := r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "n0", pl.Node.Name, "no replica could be asked: the primary")
	assert.Equal(t, []string{"n0"}, *asked, "full replica pools are not asked")

	// Known fresh by its probe, but no free connection: not picked either.
	ns[2].LSN.Store(500)
	MarkWritten(ctx)
	pl, err = r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "n0", pl.Node.Name)
}

func TestReadYourWritesWithAFullPrimaryPoolReadsThePrimaryWithoutAsking(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	MarkWritten(ctx)
	fill(ns[0].Pools[cluster.PoolWrite])
	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 500})
	pl, err := r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, ns[0].Pools[cluster.PoolWrite], pl, "the read itself waits for the primary's pool, once")
	assert.Empty(t, *asked, "the primary's position is not asked of a full pool")
}

func TestReadYourWritesMovingFromAFullNodeAsksNeitherFullPool(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	rywFrom(ctx).last.Store(ns[1])
	fill(ns[1].Pools[cluster.PoolRead])
	fill(ns[0].Pools[cluster.PoolWrite])
	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 500, "n2": 500})
	pl, err := r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "n0", pl.Node.Name, "what n1 showed cannot be bounded: the primary")
	assert.Empty(t, *asked)
}

func TestAskLSNNowEndsByItsBound(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{})
	p.lsnSeam = func(ctx context.Context, _ *cluster.Pool, _ string) (int64, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	start := time.Now()
	_, err := p.askLSNNow(context.Background(), ns[1].Pools[cluster.PoolRead], replayLSNSQL, time.Now().Add(20*time.Millisecond))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	fill(ns[1].Pools[cluster.PoolRead])
	_, err = p.askLSNNow(context.Background(), ns[1].Pools[cluster.PoolRead], replayLSNSQL, time.Now().Add(time.Hour))
	assert.ErrorIs(t, err, errPoolBusy)
}
