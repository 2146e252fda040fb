package cluster

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type hookCalls struct {
	mu    sync.Mutex
	calls []string
}

func (h *hookCalls) add(s string) {
	h.mu.Lock()
	h.calls = append(h.calls, s)
	h.mu.Unlock()
}

func (h *hookCalls) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// Effects run on the effects goroutine in the order of the transitions: a
// hook that blocks holds up later hooks, never the statement or probe whose
// event caused them.
func TestEffectsRunOffTheCallersGoroutineInOrder(t *testing.T) {
	p, ns := routingCluster(t, 2, Options{})
	var log bytes.Buffer
	p.log = slog.New(slog.NewTextHandler(&log, nil))
	calls := &hookCalls{}
	release := make(chan struct{})
	p.opts.Hooks = Hooks{
		NodeDown:       func(node string, err error) { <-release; calls.add("down " + node) },
		NodeUp:         func(node string) { calls.add("up " + node) },
		PrimaryChanged: func(old, primary string) { calls.add("changed " + old + ">" + primary) },
		Failover:       func(old, primary string, took time.Duration) { calls.add("failover " + old + ">" + primary) },
	}
	p.fxStop = make(chan struct{})
	p.wg.Add(1)
	go p.runEffects()

	done := make(chan struct{})
	go func() {
		p.Report(ns[0], errShutdown) // the primary fails a statement
		p.probeAll(ns[1])            // n1 promoted
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked hook held up the statement that reported the failure")
	}
	assert.Equal(t, ns[1], p.topo.Load().Primary, "routing moved on while the hook was blocked")
	assert.Empty(t, calls.get())
	close(release)
	close(p.fxStop)
	p.wg.Wait()
	assert.Equal(t, []string{"down n0", "changed n0>", "changed >n1", "failover n0>n1"}, calls.get())
	assert.Contains(t, log.String(), "no writable primary")
	assert.Contains(t, log.String(), "unifieddb: failover")
}

func TestEffectsOfEveryKind(t *testing.T) {
	p, ns := routingCluster(t, 2, Options{})
	var log bytes.Buffer
	p.log = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var failovers []string
	p.opts.Failover = func(old, primary Addr, at time.Time, took time.Duration) {
		failovers = append(failovers, old.String()+">"+primary.String())
	}
	ns[0].Addr, ns[1].Addr = Addr{"127.0.0.1", 1}, Addr{"127.0.0.1", 2}
	up := false
	p.opts.Hooks.NodeUp = func(string) { up = true }
	for _, f := range []effect{
		{kind: effNodeUp, node: ns[1]},
		{kind: effCloseConns, node: ns[1], hung: true},
		{kind: effReconnect, node: ns[1]},
		{kind: effKick, node: ns[1]},
		{kind: effSplitBrain, to: ns[0]},
		{kind: effPrimaryFound, to: ns[0]},
		{kind: effTopology, to: ns[0]},
		{kind: effFailover, from: ns[0], to: ns[1], took: time.Second},
	} {
		p.runEffect(f)
	}
	assert.True(t, up)
	assert.True(t, ns[1].reconnect.Load())
	assert.Len(t, ns[1].kick, 1)
	assert.Equal(t, []string{"127.0.0.1:1>127.0.0.1:2"}, failovers)
	for _, line := range []string{"node up", "SPLIT BRAIN", "unifieddb: primary", "unifieddb: topology", "unifieddb: failover"} {
		assert.Contains(t, log.String(), line)
	}
}

// Close runs the effects queued before it, then the goroutine ends; a probe
// answering after Close changes nothing.
func TestCloseRunsQueuedEffectsThenStops(t *testing.T) {
	p, ns := routingCluster(t, 2, Options{})
	var downs []string
	p.opts.Hooks.NodeDown = func(node string, _ error) { downs = append(downs, node) }
	p.fxStop = make(chan struct{})
	p.Report(ns[1], errShutdown) // queued, the goroutine not started yet
	p.wg.Add(1)
	go p.runEffects()
	p.step(event{kind: evClose})
	p.Report(ns[0], errShutdown)
	close(p.fxStop)
	p.wg.Wait()
	require.Equal(t, []string{"n1"}, downs)
	assert.NotNil(t, p.topo.Load().Primary, "closed: the machine changes nothing")
}
