package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// twoClusterPlugin: the default cluster n0 (primary), n1 and a cluster
// "events" e0 (primary), e1, every node probed at LSN 100. Nothing connects.
func twoClusterPlugin(t *testing.T, opts Options) (*Plugin, *site) {
	t.Helper()
	p, _ := routingPlugin(t, 2, opts)
	co := p.clusterOptions(&p.opts, nil)
	co.Connector = nil
	c, nodes := cluster.NewForTest(co, []string{"e0", "e1"})
	t.Cleanup(func() { closePools(nodes) })
	c.StartForTest()
	for _, n := range nodes {
		c.ProbeForTest(n, n != nodes[0], 100, 1, nil)
	}
	s := &site{c: c}
	p.setRoutes(s, "events", &p.opts)
	p.sites = map[string]*site{DefaultCluster: &p.site, "events": s}
	return p, s
}

// A context's writes are kept per cluster: a write on one cluster makes
// its reads there wait for that cluster's WAL position, and reads of the
// other cluster (whose positions cannot be compared) wait for nothing.
func TestReadYourWritesPerCluster(t *testing.T) {
	p, events := twoClusterPlugin(t, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 400, "e0": 9000, "e1": 9000})
	ctx := WithReadYourWrites(context.Background())
	events.wrote(ctx) // a write on events

	pl, err := p.routes[Auto][opRead].first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "n1", pl.Node.Name, "the default cluster saw no write of the context: its replica, behind or not")
	assert.NotContains(t, *asked, "n0", "no WAL position of the default cluster was needed")

	pl, err = events.routes[Auto][opRead].first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "e1", pl.Node.Name, "events' replica replayed events' position")
	assert.Contains(t, *asked, "e0", "the target is events' primary's position")

	p.wrote(ctx) // a write on the default cluster: n1 (400) is short of n0's 500
	pl, err = p.routes[Auto][opRead].first(ctx)
	require.NoError(t, err)
	assert.Equal(t, "n0", pl.Node.Name, "after the wait, the primary of its own cluster")
}
