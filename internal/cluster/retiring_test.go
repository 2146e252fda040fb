package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// A node added while a removed one is still retiring (its pools open for
// retireGrace, statements that picked it from an older snapshot still
// reaching it) does not take its index: a retry that failed on the retiring
// node marks its index as tried, and must not skip the new node for it.
func TestDiscoveryDoesNotReuseTheIndexOfARetiringNode(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, b, d := Addr{"127.0.0.1", 1}, Addr{"127.0.0.1", 2}, Addr{"127.0.0.1", 4}
	src := &fakeSource{}
	src.set(nil, a, b)
	p := discoveryCluster(t, src)
	nb := p.Nodes()[1]

	src.set(nil, a)
	src.waitCalls(t, 2)
	require.True(t, nb.retired.Load())
	src.set(nil, a, d)
	src.waitCalls(t, 2)
	require.Equal(t, []Addr{a, d}, addrsOf(p))
	nd := p.Nodes()[1]
	if err := nb.Pools[PoolRead].DB.Ping(); err != nil {
		require.NotEqual(t, errDBClosed, err.Error(), "b is still retiring: its pools are open")
	}
	assert.NotEqual(t, nb.idx, nd.idx, "b is still retiring")
	var tried NodeMask
	tried.Add(nb) // a read failed on b, picked from an older snapshot
	assert.False(t, tried.Has(nd), "the new node is still a candidate of the retry")

	// Once b is closed its index is free again.
	require.Eventually(t, func() bool {
		err := nb.Pools[PoolRead].DB.Ping()
		return err != nil && err.Error() == errDBClosed
	}, 10*time.Second, 20*time.Millisecond)
	e := Addr{"127.0.0.1", 5}
	src.set(nil, a, d, e)
	src.waitCalls(t, 2)
	assert.Equal(t, nb.idx, p.Nodes()[2].idx, "b's index is reused after it closed")

	require.NoError(t, p.Close())
	goleak.VerifyNone(t, before)
}
