package plugin

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errNoDB = &pgconn.PgError{Code: "3D000", Message: `database "nope" does not exist`}

// When a call that found no node fails at once: every node's last probe
// failed with a permanent fault and none ever answered a probe.
func TestUnavailableVerdict(t *testing.T) {
	ok := primaryAt(100, 1)
	fail := func(err error) probeResult { return probeResult{err: err} }
	cases := []struct {
		name   string
		probes [][]probeResult // per node, in order
		want   bool
	}{
		{"every node refuses the password", [][]probeResult{{fail(errAuth)}, {fail(errAuth)}}, true},
		{"unknown database on the only node", [][]probeResult{{fail(errNoDB)}}, true},
		{"one node refuses connections: it may be starting", [][]probeResult{{fail(errAuth)}, {fail(errRefused)}}, false},
		{"one node not probed yet", [][]probeResult{{fail(errAuth)}, {}}, false},
		{"every node refuses connections", [][]probeResult{{fail(errRefused)}, {fail(errRefused)}}, false},
		{"healthy once, then the password is refused: a node fault", [][]probeResult{{ok, fail(errAuth)}, {fail(errAuth)}}, false},
		{"permanent, then refused: the latest probe decides", [][]probeResult{{fail(errAuth), fail(errRefused)}}, false},
		{"refused, then permanent", [][]probeResult{{fail(errRefused), fail(errNoDB)}}, true},
		{"hung probe", [][]probeResult{{fail(errHung)}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, ns, clock := testMachine(t, len(c.probes), Options{EnableHA: true})
			for i, rs := range c.probes {
				for _, r := range rs {
					probe(m, clock, ns[i], r)
				}
			}
			u := m.unavailable(ErrNoPrimary)
			assert.Equal(t, c.want, u.Permanent)
			assert.Len(t, u.Nodes, len(c.probes))
		})
	}
}

func TestUnavailableErrorNamesEachNode(t *testing.T) {
	m, ns, clock := testMachine(t, 3, Options{EnableHA: true})
	ns[0].secret = "s3cret"
	probe(m, clock, ns[0], probeResult{err: fmt.Errorf("failed to connect: password s3cret: %w", errAuth)})
	probe(m, clock, ns[1], probeResult{err: errHung})
	probe(m, clock, ns[2], replicaAt(100, 1))
	u := m.unavailable(ErrNoPrimary)
	u.Within = 30 * time.Second
	var err error = &NodeError{Node: "n0", Op: OpExec, Err: u}

	msg := err.Error()
	assert.Contains(t, msg, "no writable primary within 30s: node n0: failed to connect")
	assert.Contains(t, msg, "; node n1: probe: context deadline exceeded")
	assert.Contains(t, msg, "; node n2: replica, in service")
	assert.NotContains(t, msg, "s3cret")
	assert.ErrorIs(t, err, ErrNoPrimary)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "28P01", pgErr.Code)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "a probe's timeout is not the caller's context's")
	var got *UnavailableError
	require.ErrorAs(t, err, &got)
	assert.Equal(t, []Role{RoleUnknown, RoleUnknown, RoleReplica}, []Role{got.Nodes[0].Role, got.Nodes[1].Role, got.Nodes[2].Role})

	assert.Equal(t, "node n0: not probed yet", NodeFault{Node: "n0"}.String())
	assert.Equal(t, "node n0: primary, out of service", NodeFault{Node: "n0", Role: RolePrimary}.String())
}

// unprobedPlugin: k nodes, nothing probed yet (Nodes[0] assumed primary),
// attempts are functions.
func unprobedPlugin(t *testing.T, k int, timeout time.Duration) (*Plugin, []*Node) {
	t.Helper()
	names := make([]string, k)
	for i := range names {
		names[i] = fmt.Sprintf("127.0.0.1:%d", 5000+i)
	}
	p, nodes := bareTestPlugin(t, names, Options{EnableHA: true, FailoverTimeout: timeout, FallbackToPrimary: true}, slog.New(slog.DiscardHandler))
	p.m = newMachine(&p.opts, nodes, nil)
	p.topo.Store(p.m.topo)
	p.routes = newRoutes(p)
	return p, nodes
}

func (p *Plugin) probeFails(err error) {
	for _, n := range p.Nodes() {
		p.step(event{kind: evProbe, node: n, probe: probeResult{err: err, at: time.Now()}})
	}
}

func TestRoutingPermanentFaultFailsAtOnce(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		op       opKind
		sentinel error
	}{
		{"write, wrong password", errAuth, opWrite, ErrNoPrimary},
		{"read, unknown database", errNoDB, opRead, ErrNoHealthyNode},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := unprobedPlugin(t, 2, 30*time.Second)
			p.probeFails(c.err)
			s := &script{}
			start := time.Now()
			err := p.routes[Auto][c.op].run(context.Background(), OpQuery, s.do)
			assert.Less(t, time.Since(start), time.Second, "not failover_timeout (30 s)")
			assert.Empty(t, s.nodes, "nothing sent")
			assert.ErrorIs(t, err, c.sentinel)
			assert.ErrorIs(t, err, c.err)
			var u *UnavailableError
			require.ErrorAs(t, err, &u)
			assert.True(t, u.Permanent)
			assert.Contains(t, err.Error(), "node 127.0.0.1:5001: ")
		})
	}
}

// A statement that met the fault first (Nodes[0] only assumed primary) waits
// for the probes, then fails with their verdict, long before
// failover_timeout.
func TestRoutingRetryEndsWhenTheProbesFindAPermanentFault(t *testing.T) {
	p, _ := unprobedPlugin(t, 2, 30*time.Second)
	connectFailed := fmt.Errorf("%w: %w", driver.ErrBadConn, errAuth)
	go func() {
		time.Sleep(30 * time.Millisecond)
		p.probeFails(errAuth)
	}()
	s := &script{errs: []error{connectFailed}}
	start := time.Now()
	err := p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, []string{"127.0.0.1:5000/write"}, s.nodes)
	assert.ErrorIs(t, err, ErrNoPrimary)
	var u *UnavailableError
	require.ErrorAs(t, err, &u)
	assert.True(t, u.Permanent)
	var ne *NodeError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "127.0.0.1:5000", ne.Node)
}

// A refused connection is waited for as a crash is, then named.
func TestRoutingRefusedWaitsThenNamesTheCause(t *testing.T) {
	p, _ := unprobedPlugin(t, 1, 100*time.Millisecond)
	p.probeFails(fmt.Errorf("dial tcp 127.0.0.1:5000: connect: %w", syscall.ECONNREFUSED))
	start := time.Now()
	err := p.routes[Auto][opWrite].run(context.Background(), OpExec, (&script{}).do)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	assert.ErrorIs(t, err, ErrNoPrimary)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), "no writable primary within 100ms: node 127.0.0.1:5000: dial tcp 127.0.0.1:5000: connect: connection refused")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	p.opts.FailoverTimeout = 30 * time.Second
	err = p.routes[Auto][opRead].run(ctx, OpQuery, (&script{}).do)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrNoHealthyNode)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestWaitPrimary(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		p, ns := unprobedPlugin(t, 2, time.Second)
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.step(event{kind: evProbe, node: ns[1], probe: primaryAt(100, 1)})
		}()
		require.NoError(t, p.WaitPrimary(context.Background()))
	})
	t.Run("permanent fault at once", func(t *testing.T) {
		p, _ := unprobedPlugin(t, 2, time.Second)
		p.probeFails(errNoDB)
		err := p.WaitPrimary(context.Background())
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		assert.Equal(t, "3D000", pgErr.Code)
		assert.ErrorIs(t, err, ErrNoPrimary)
	})
	t.Run("context ends", func(t *testing.T) {
		p, _ := unprobedPlugin(t, 1, time.Second)
		p.probeFails(errRefused)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := p.WaitPrimary(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, err, ErrNoPrimary)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	})
	t.Run("closed", func(t *testing.T) {
		p, _ := unprobedPlugin(t, 1, time.Second)
		p.closed.Store(true)
		assert.ErrorIs(t, p.WaitPrimary(context.Background()), ErrClosed)
	})
	t.Run("closing while waiting", func(t *testing.T) {
		p, _ := unprobedPlugin(t, 1, time.Second)
		close(p.closing)
		assert.ErrorIs(t, p.WaitPrimary(context.Background()), ErrClosed)
	})
}

// A call waiting for a node wakes when the probes make the fault
// permanent, without a new snapshot.
func TestPermanentFaultWakesWaiters(t *testing.T) {
	p, ns := unprobedPlugin(t, 1, time.Second)
	p.probeFails(errRefused) // down: the snapshot has no primary from now on
	p.mu.Lock()
	ch := p.changed
	p.mu.Unlock()
	p.step(event{kind: evProbe, node: ns[0], probe: probeResult{err: errAuth, at: time.Now()}})
	select {
	case <-ch:
	default:
		t.Fatal("no wake-up")
	}
	p.mu.Lock()
	ch = p.changed
	p.mu.Unlock()
	p.step(event{kind: evProbe, node: ns[0], probe: probeResult{err: errAuth, at: time.Now()}})
	select {
	case <-ch:
		t.Fatal("woken again for the same fault")
	default:
	}
	assert.True(t, errors.Is(p.Unavailable(ErrNoPrimary), errAuth))
}

// The moment every node's fault becomes permanent is one WARN line with
// the cause, not the "writes wait up to failover_timeout" line alone.
func TestHopelessIsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	p, nodes := bareTestPlugin(t, []string{"127.0.0.1:5000", "127.0.0.1:5001"}, Options{EnableHA: true}, slog.New(slog.NewTextHandler(&buf, nil)))
	nodes[0].secret, nodes[1].secret = "s3cret", "s3cret"
	p.m = newMachine(&p.opts, nodes, nil)
	p.topo.Store(p.m.topo)
	authWithSecret := fmt.Errorf("user u password s3cret: %w", errAuth)
	p.probeFails(authWithSecret)
	p.probeFails(authWithSecret)
	p.runQueued()
	assert.Equal(t, 1, strings.Count(buf.String(), "every node has a fault waiting cannot cure"), buf.String())
	assert.Contains(t, buf.String(), "node 127.0.0.1:5001: user u password ***: ")
	assert.NotContains(t, buf.String(), "s3cret")
}
