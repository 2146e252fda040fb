package cluster

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A NodeDown hook that blocks must not hold up closing the failed node's
// sockets: the statements stuck on a hung node would wait for the hook
// (hooks never delay a query). The hook is queued before the close.
func TestSlowNodeDownHookDoesNotDelayClosingSockets(t *testing.T) {
	p, ns := routingCluster(t, 2, Options{})
	release := make(chan struct{})
	p.opts.Hooks = Hooks{NodeDown: func(string, error) { <-release }}
	p.fxStop = make(chan struct{})
	p.wg.Add(1)
	go p.runEffects()
	defer func() {
		close(release)
		close(p.fxStop)
		p.wg.Wait()
	}()

	dial := ns[1].conns.wrap(func(context.Context, string, string) (net.Conn, error) {
		c, other := net.Pipe()
		t.Cleanup(func() { other.Close() })
		return c, nil
	})
	_, err := dial(context.Background(), "tcp", "n1")
	require.NoError(t, err)
	open := func() int {
		ns[1].conns.mu.Lock()
		defer ns[1].conns.mu.Unlock()
		return len(ns[1].conns.conns)
	}
	require.Equal(t, 1, open())

	// The replica n1 fails a probe with a connection error: NodeDown, and
	// its sockets closed.
	p.step(event{kind: evProbe, node: ns[1], probe: probeResult{err: errReset, at: time.Now()}})
	require.Eventually(t, func() bool { return open() == 0 }, 5*time.Second, 10*time.Millisecond,
		"the sockets wait for the NodeDown hook")
}
