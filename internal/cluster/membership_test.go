package cluster

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// fakeSource answers what the test last set, and counts its calls.
type fakeSource struct {
	mu    sync.Mutex
	ms    []Member
	err   error
	calls int
}

func (f *fakeSource) set(err error, addrs ...Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.ms = err, nil
	for _, a := range addrs {
		f.ms = append(f.ms, Member{Addr: a})
	}
}

func (f *fakeSource) Discover(context.Context) ([]Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]Member(nil), f.ms...), f.err
}

func (f *fakeSource) Source() string { return "fake" }

// waitCalls waits until the source answered k more refreshes.
func (f *fakeSource) waitCalls(t *testing.T, k int) {
	t.Helper()
	f.mu.Lock()
	target := f.calls + k
	f.mu.Unlock()
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.calls >= target
	}, 10*time.Second, 5*time.Millisecond)
}

// discoveryCluster is a Plugin on addresses where nothing listens (pools
// open lazily, so nothing connects but the failing probes) whose node list
// comes from src.
func discoveryCluster(t *testing.T, src Discoverer, seeds ...Addr) *Cluster {
	t.Helper()
	p, err := New(discoveryOptions(src, seeds...))
	require.NoError(t, err)
	return p
}

func discoveryOptions(src Discoverer, seeds ...Addr) Options {
	return Options{
		Nodes:     seeds,
		Discovery: src, DiscoveryInterval: 5 * time.Millisecond,
		ConnConfig: func(a Addr) (*pgx.ConnConfig, error) {
			if a.Host == "refused" {
				return nil, errors.New("no settings for this node")
			}
			return pgx.ParseConfig(fmt.Sprintf("postgres://u@%s/db?connect_timeout=1", a))
		},
		Pool: PoolConfig{MaxOpen: 2}, Batch: PoolConfig{MaxOpen: 1}, Transactional: PoolConfig{MaxOpen: 1},
		PoolTimeout: time.Second,
		Logger:      slog.New(slog.DiscardHandler),
		EnableHA:    true, HealthCheckInterval: time.Second, ProbeTimeout: 200 * time.Millisecond,
	}
}

func addrsOf(p *Cluster) []Addr {
	var out []Addr
	for _, n := range p.Nodes() {
		out = append(out, n.Addr)
	}
	return out
}

func TestDiscoveryRefreshAddsAndRemovesNodes(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, b, c := Addr{"127.0.0.1", 1}, Addr{"127.0.0.1", 2}, Addr{"127.0.0.1", 3}
	src := &fakeSource{}
	src.set(nil, a)
	p := discoveryCluster(t, src, c) // the seed is not used: the source answered
	assert.Equal(t, []Addr{a}, addrsOf(p))
	st := p.Status().Discovery
	assert.Equal(t, "fake", st.Source)
	assert.False(t, st.LastRefresh.IsZero())
	assert.Empty(t, st.LastError)

	src.set(nil, a, b)
	src.waitCalls(t, 2)
	assert.Equal(t, []Addr{a, b}, addrsOf(p))
	nb := p.Nodes()[1]
	assert.Equal(t, 1, nb.idx, "a free mask bit")

	// A failing source, an empty answer, a node that cannot be opened: the
	// list stays, the error is shown.
	src.set(errors.New("patroni down"), c)
	src.waitCalls(t, 2)
	assert.Equal(t, []Addr{a, b}, addrsOf(p))
	assert.Equal(t, "patroni down", p.Status().Discovery.LastError)
	src.set(nil)
	src.waitCalls(t, 2)
	assert.Equal(t, []Addr{a, b}, addrsOf(p))
	assert.ErrorContains(t, errors.New(p.Status().Discovery.LastError), "no node")
	src.set(nil, a, Addr{"refused", 5})
	src.waitCalls(t, 2)
	assert.Equal(t, []Addr{a, b}, addrsOf(p))
	assert.Contains(t, p.Status().Discovery.LastError, "no settings")

	// Removal: out of the list and the snapshot at once, pools closed after
	// retireGrace; a statement that still holds its pool gets an error that
	// proves nothing was sent.
	src.set(nil, a, c)
	src.waitCalls(t, 2)
	assert.Equal(t, []Addr{a, c}, addrsOf(p))
	assert.Equal(t, 2, p.Nodes()[1].idx, "b still held bit 1 when c was added")
	topo := p.topo.Load()
	assert.NotEqual(t, nb, topo.Primary)
	assert.NotContains(t, topo.Replicas, nb)
	for _, n := range p.Status().Nodes {
		assert.NotEqual(t, nb.Name, n.Name)
	}
	require.Eventually(t, func() bool {
		return nb.Pools[PoolRead].DB.Ping() != nil && nb.Pools[PoolRead].DB.Ping().Error() == errDBClosed
	}, 10*time.Second, 20*time.Millisecond, "the removed node's pools are closed")
	_, err := nb.Pools[PoolWrite].DB.ExecContext(context.Background(), "SELECT 1")
	err = nb.Pools[PoolWrite].Gone(err) // as the query path's exec does
	assert.ErrorIs(t, err, driver.ErrBadConn)
	assert.True(t, NotSent(err), "retried elsewhere, even a write")
	d := Addr{"127.0.0.1", 4}
	src.set(nil, a, c, d)
	src.waitCalls(t, 2)
	assert.Equal(t, []Addr{a, c, d}, addrsOf(p))
	assert.Equal(t, 1, p.Nodes()[2].idx, "b's bit is free again")
	st = p.Status().Discovery
	assert.Equal(t, int64(3), st.Added) // b, c, d
	assert.Equal(t, int64(1), st.Removed)

	require.NoError(t, p.Close())
	goleak.VerifyNone(t, before)
}

func TestDiscoveryCloseWhileRemoving(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, b := Addr{"127.0.0.1", 1}, Addr{"127.0.0.1", 2}
	src := &fakeSource{}
	src.set(nil, a, b)
	p := discoveryCluster(t, src)
	nb := p.Nodes()[1]
	src.set(nil, a)
	src.waitCalls(t, 2)
	require.True(t, nb.retired.Load())
	start := time.Now()
	require.NoError(t, p.Close(), "Close does not wait out retireGrace")
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.EqualError(t, nb.Pools[PoolRead].DB.Ping(), errDBClosed)
	goleak.VerifyNone(t, before)
}

func TestDiscoveryStartFallsBackToNodes(t *testing.T) {
	src := &fakeSource{}
	src.set(errors.New("no answer"))
	seed := Addr{"127.0.0.1", 1}
	p := discoveryCluster(t, src, seed)
	defer p.Close()
	assert.Equal(t, []Addr{seed}, addrsOf(p))
	assert.Equal(t, "no answer", p.Status().Discovery.LastError)

	_, err := New(Options{Discovery: src, DiscoveryInterval: time.Second, EnableHA: true,
		ConnConfig: p.opts.ConnConfig, Pool: p.opts.Pool, Batch: p.opts.Batch, Transactional: p.opts.Transactional,
		PoolTimeout: time.Second, HealthCheckInterval: time.Second, ProbeTimeout: time.Second})
	assert.ErrorContains(t, err, "no answer", "no node at all: New fails")
}

// A probe in flight when its node is removed is cancelled, and its error is
// not applied: applying it would take the node for dead and close the
// sockets of statements still running there.
func TestDiscoveryRemovalCancelsProbeWithoutApplyingIt(t *testing.T) {
	before := goleak.IgnoreCurrent()
	// Accepts connections and never answers: a probe of it waits.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	stopListening := func() {
		l.Close()
		<-accepting
		for _, c := range conns {
			c.Close()
		}
	}
	defer func() {
		if l != nil {
			stopListening()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	a, hung := Addr{"127.0.0.1", 1}, Addr{"127.0.0.1", port}
	src := &fakeSource{}
	src.set(nil, a, hung)
	o := discoveryOptions(src)
	o.ProbeTimeout = 10 * time.Second // the probe of hung stays in flight
	p, err := New(o)
	require.NoError(t, err)
	nh := p.Nodes()[1]
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conns) > 0
	}, 10*time.Second, 5*time.Millisecond, "the probe of the hung node is in flight")
	src.set(nil, a)
	select {
	case <-nh.loopDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the removed node's probe loop did not end: its probe was not cancelled")
	}
	p.stateMu.Lock()
	checked := nh.st.checkedAt
	p.stateMu.Unlock()
	assert.True(t, checked.IsZero(), "the cancelled probe was applied")
	require.NoError(t, p.Close())
	stopListening()
	l = nil
	goleak.VerifyNone(t, before)
}

// lockedBuffer is a log sink safe to read while the plugin writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// A source that keeps failing is one warning, not one per interval.
func TestDiscoveryWarnsOncePerOutage(t *testing.T) {
	var logs lockedBuffer
	src := &fakeSource{}
	src.set(nil, Addr{"127.0.0.1", 1})
	o := discoveryOptions(src)
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := New(o)
	require.NoError(t, err)
	defer p.Close()
	src.set(errors.New("down"))
	src.waitCalls(t, 5)
	src.set(nil, Addr{"127.0.0.1", 1})
	src.waitCalls(t, 2)
	src.set(errors.New("down again"))
	src.waitCalls(t, 5)
	out := logs.String()
	assert.Equal(t, 2, strings.Count(out, "discovery failed"), out)
	assert.Equal(t, 1, strings.Count(out, "discovery answers again"), out)
}
