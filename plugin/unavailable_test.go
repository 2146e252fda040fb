package plugin

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errNoDB = &pgconn.PgError{Code: "3D000", Message: `database "nope" does not exist`}

var (
	errHung = fmt.Errorf("probe: %w", context.DeadlineExceeded)
	errAuth = &pgconn.PgError{Code: "28P01", Message: "password authentication failed"}
)

func TestUnavailableErrorNamesEachNode(t *testing.T) {
	c, ns := cluster.NewForTest(cluster.Options{EnableHA: true}, []string{"n0", "n1", "n2"})
	t.Cleanup(func() { closePools(ns) })
	c.StartForTest()
	ns[0].SetSecretForTest("s3cret")
	c.ProbeForTest(ns[0], false, 0, 0, fmt.Errorf("failed to connect: password s3cret: %w", errAuth))
	c.ProbeForTest(ns[1], false, 0, 0, errHung)
	c.ProbeForTest(ns[2], true, 100, 1, nil)
	u := c.Unavailable(ErrNoPrimary)
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
}

// unprobedPlugin: k nodes, nothing probed yet (Nodes[0] assumed primary),
// attempts are functions.
func unprobedPlugin(t *testing.T, k int, timeout time.Duration) (*Plugin, []*cluster.Node) {
	t.Helper()
	names := make([]string, k)
	for i := range names {
		names[i] = fmt.Sprintf("127.0.0.1:%d", 5000+i)
	}
	p, nodes := bareTestPlugin(t, names, Options{EnableHA: true, FailoverTimeout: timeout, FallbackToPrimary: true}, slog.New(slog.DiscardHandler))
	p.c.StartForTest()
	p.setRoutes(&p.site, DefaultCluster, &p.opts)
	return p, nodes
}

func (p *Plugin) probeFails(err error) {
	for _, n := range p.c.Nodes() {
		p.c.ProbeForTest(n, false, 0, 0, err)
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
