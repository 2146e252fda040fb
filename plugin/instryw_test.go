package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// read_your_writes_scope: instance: every Auto read sees every write made
// through the plugin, whatever its context.

func instancePlugin(t *testing.T, k int) (*Plugin, []*cluster.Node) {
	t.Helper()
	p, ns := routingPlugin(t, k, Options{ReadYourWritesTimeout: 30 * time.Millisecond, InstanceReadYourWrites: true})
	p.inst = &rywState{instance: true}
	return p, ns
}

func TestInstanceReadYourWritesPlainReadSeesAnotherContextsWrite(t *testing.T) {
	p, ns := instancePlugin(t, 3)
	read, write := p.routes[Auto][opRead], p.routes[Auto][opWrite]
	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 450, "n2": 450})

	pl, err := read.first(context.Background())
	require.NoError(t, err)
	assert.Equal(t, cluster.PoolRead, pl.Kind, "no write yet: any replica")
	assert.Empty(t, *asked, "nothing to wait for: nobody asked")

	require.NoError(t, write.run(context.Background(), OpExec, (&script{}).do))
	pl, err = read.first(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "n0", pl.Node.Name, "no replica replayed the write within the wait: the primary")
	assert.Contains(t, *asked, "n0")

	ns[2].LSN.Store(500)
	pl, err = read.first(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "n2", pl.Node.Name, "the replica past the write")
}

func TestInstanceReadYourWritesKeepsNoLastNode(t *testing.T) {
	p, ns := instancePlugin(t, 3)
	read, write := p.routes[Auto][opRead], p.routes[Auto][opWrite]
	lsnAnswers(p, map[string]int64{"n0": 500})
	require.NoError(t, write.run(context.Background(), OpExec, (&script{}).do))
	ns[1].LSN.Store(500)
	ns[2].LSN.Store(500)
	seen := map[string]int{}
	for range 10 {
		pl, err := read.first(context.Background())
		require.NoError(t, err)
		read.served(context.Background(), pl)
		seen[pl.Node.Name]++
	}
	assert.Nil(t, p.inst.last.Load(), "no monotonic binding across unrelated reads")
	assert.Equal(t, map[string]int{"n1": 5, "n2": 5}, seen, "fresh replicas share the reads")
}

func TestInstanceReadYourWritesCountsEveryWritePath(t *testing.T) {
	p, _ := instancePlugin(t, 2)
	require.NoError(t, p.routes[ReadWrite][opWrite].run(context.Background(), OpExec, (&script{}).do))
	require.NoError(t, p.routes[Batch][opWrite].run(context.Background(), OpExec, (&script{}).do))
	require.NoError(t, p.routes[Auto][opRead].run(context.Background(), OpQuery, (&script{}).do))
	assert.EqualValues(t, 2, p.inst.writes.Load(), "writes of every mode, not reads")
}

func TestInstanceReadYourWritesContextReadSeesTheInstancesWrites(t *testing.T) {
	p, _ := instancePlugin(t, 2)
	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 450})
	require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, (&script{}).do))
	ctx := WithReadYourWrites(context.Background()) // made no write
	pl, err := p.routes[Auto][opRead].first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "n0", pl.Node.Name)
	assert.Equal(t, 1, count(*asked, "n0"), "one question covers the context and the instance")
	assert.EqualValues(t, 500, rywFrom(ctx).lsn.Load())
}

func TestContextScopeIsTheDefault(t *testing.T) {
	p, _ := routingPlugin(t, 2, Options{})
	assert.Nil(t, p.inst)
	require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, (&script{}).do))
	pl, err := p.routes[Auto][opRead].first(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "n1", pl.Node.Name, "a plain context's read may go to a replica right after a write")
}

func count(xs []string, x string) (n int) {
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
