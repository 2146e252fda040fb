package cluster

import (
	"bytes"
	"context"
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

func TestNodeFaultString(t *testing.T) {
	assert.Equal(t, "node n0: not probed yet", NodeFault{Node: "n0"}.String())
	assert.Equal(t, "node n0: primary, out of service", NodeFault{Node: "n0", Role: RolePrimary}.String())
}

// unprobedCluster: k nodes, nothing probed yet (Nodes[0] assumed primary).
func unprobedCluster(t *testing.T, k int) (*Cluster, []*Node) {
	t.Helper()
	names := make([]string, k)
	for i := range names {
		names[i] = fmt.Sprintf("127.0.0.1:%d", 5000+i)
	}
	p, nodes := bareTestCluster(t, names, Options{EnableHA: true}, slog.New(slog.DiscardHandler))
	p.StartForTest()
	return p, nodes
}

func (p *Cluster) probeFails(err error) {
	for _, n := range p.Nodes() {
		p.step(event{kind: evProbe, node: n, probe: probeResult{err: err, at: time.Now()}})
	}
}

func TestWaitPrimary(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		p, ns := unprobedCluster(t, 2)
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.step(event{kind: evProbe, node: ns[1], probe: primaryAt(100, 1)})
		}()
		require.NoError(t, p.WaitPrimary(context.Background()))
	})
	t.Run("permanent fault at once", func(t *testing.T) {
		p, _ := unprobedCluster(t, 2)
		p.probeFails(errNoDB)
		err := p.WaitPrimary(context.Background())
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		assert.Equal(t, "3D000", pgErr.Code)
		assert.ErrorIs(t, err, ErrNoPrimary)
	})
	t.Run("context ends", func(t *testing.T) {
		p, _ := unprobedCluster(t, 1)
		p.probeFails(errRefused)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := p.WaitPrimary(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, err, ErrNoPrimary)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	})
	t.Run("closed", func(t *testing.T) {
		p, _ := unprobedCluster(t, 1)
		p.closed.Store(true)
		assert.ErrorIs(t, p.WaitPrimary(context.Background()), ErrClosed)
	})
	t.Run("closing while waiting", func(t *testing.T) {
		p, _ := unprobedCluster(t, 1)
		close(p.closing)
		assert.ErrorIs(t, p.WaitPrimary(context.Background()), ErrClosed)
	})
}

// A call waiting for a node wakes when the probes make the fault
// permanent, without a new snapshot.
func TestPermanentFaultWakesWaiters(t *testing.T) {
	p, ns := unprobedCluster(t, 1)
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
	p, nodes := bareTestCluster(t, []string{"127.0.0.1:5000", "127.0.0.1:5001"}, Options{EnableHA: true}, slog.New(slog.NewTextHandler(&buf, nil)))
	nodes[0].SetSecretForTest("s3cret")
	nodes[1].SetSecretForTest("s3cret")
	p.StartForTest()
	authWithSecret := fmt.Errorf("user u password s3cret: %w", errAuth)
	p.probeFails(authWithSecret)
	p.probeFails(authWithSecret)
	p.runQueued()
	assert.Equal(t, 1, strings.Count(buf.String(), "every node has a fault waiting cannot cure"), buf.String())
	assert.Contains(t, buf.String(), "node 127.0.0.1:5001: user u password ***: ")
	assert.NotContains(t, buf.String(), "s3cret")
}
