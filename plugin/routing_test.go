package plugin

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The query path's decisions (where an attempt goes, whether a failure is
// retried, what error the caller gets) with no server: each attempt is a
// function that returns what the node would have answered, and the
// failover machine behind the routes is the real one.

// routingPlugin: k nodes, n0 the primary, the others replicas, all probed.
// Attempts are functions (script.do): nothing connects.
func routingPlugin(t testing.TB, k int, opts Options) (*Plugin, []*cluster.Node) {
	t.Helper()
	opts.EnableHA = true
	if opts.FailoverTimeout == 0 {
		opts.FailoverTimeout = 2 * time.Second
	}
	names := make([]string, k)
	for i := range names {
		names[i] = "n" + string(rune('0'+i))
	}
	p, nodes := bareTestPlugin(t, names, opts, slog.New(slog.DiscardHandler))
	p.c.StartForTest()
	p.setRoutes(&p.site, DefaultCluster, &p.opts)
	p.probeAll(nodes[0])
	return p, nodes
}

// probeAll: every node answers a probe, primary the primary, at one LSN.
func (p *Plugin) probeAll(primary *cluster.Node) {
	for _, n := range p.c.Nodes() {
		p.c.ProbeForTest(n, n != primary, 100, 1, nil)
	}
}

// attempts records which node each attempt went to and answers with the
// next error of its script (nil when the script is used up).
type script struct {
	errs  []error
	nodes []string
}

func (s *script) do(pl *cluster.Pool) error {
	s.nodes = append(s.nodes, pl.Node.Name+"/"+pl.Kind.String())
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

var (
	errReset    = io.ErrUnexpectedEOF // the connection broke: maybe after sending
	errNotSent  = driver.ErrBadConn   // proved not sent
	errUnique   = &pgconn.PgError{Code: "23505", Message: "duplicate key"}
	errRefusal  = &pgconn.PgError{Code: codeReadOnlyTransaction, Message: "read-only"}
	errShutdown = &pgconn.PgError{Code: codeAdminShutdown, Message: "terminating connection due to administrator command"}
)

func TestRoutingReadsRotateOverReplicas(t *testing.T) {
	p, _ := routingPlugin(t, 3, Options{})
	r := p.routes[Auto][opRead]
	s := &script{}
	for range 4 {
		require.NoError(t, r.run(context.Background(), OpQuery, s.do))
	}
	assert.ElementsMatch(t, []string{"n1/read", "n2/read", "n1/read", "n2/read"}, s.nodes)

	w := &script{}
	require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, w.do))
	require.NoError(t, p.routes[Batch][opRead].run(context.Background(), OpQuery, w.do))
	require.NoError(t, p.routes[Transactional][opWrite].run(context.Background(), OpExec, w.do))
	require.NoError(t, p.routes[ReadOnly][opWrite].run(context.Background(), OpQuery, w.do))
	assert.Equal(t, "n0/write", w.nodes[0], "Auto writes go to the primary")
	assert.Equal(t, "n0/batch", w.nodes[1], "Batch reads too, on its pool")
	assert.Equal(t, "n0/transactional", w.nodes[2])
	assert.Contains(t, []string{"n1/read", "n2/read"}, w.nodes[3], "ReadOnly: a replica's read-only pool")
}

func TestRoutingReadFallsBackToThePrimaryOnlyWhenAllowed(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{FallbackToPrimary: true})
	ns[1].Report(errShutdown)
	s := &script{}
	require.NoError(t, p.routes[Auto][opRead].run(context.Background(), OpQuery, s.do))
	assert.Equal(t, []string{"n0/write"}, s.nodes)

	p, ns = routingPlugin(t, 2, Options{FailoverTimeout: 30 * time.Millisecond})
	ns[1].Report(errShutdown)
	err := p.routes[Auto][opRead].run(context.Background(), OpQuery, (&script{}).do)
	assert.ErrorIs(t, err, ErrNoHealthyNode)
	assert.Contains(t, err.Error(), "within 30ms")
}

func TestRoutingFailedReadIsRetriedOnAnotherNode(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{})
	s := &script{errs: []error{errReset}}
	require.NoError(t, p.routes[Auto][opRead].run(context.Background(), OpQuery, s.do))
	require.Len(t, s.nodes, 2)
	assert.NotEqual(t, s.nodes[0], s.nodes[1], "the retry goes elsewhere")
	failed := ns[1]
	if s.nodes[0] == "n2/read" {
		failed = ns[2]
	}
	assert.NotContains(t, p.c.Topology().Replicas, failed, "the failed node left rotation at once")
}

func TestRoutingWriteOutcomes(t *testing.T) {
	t.Run("a statement error is the caller's, not retried", func(t *testing.T) {
		p, _ := routingPlugin(t, 2, Options{})
		s := &script{errs: []error{errUnique}}
		err := p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do)
		assert.Same(t, errUnique, err, "returned as GORM would see it")
		assert.Len(t, s.nodes, 1)
	})
	t.Run("a connection lost after sending: outcome unknown, with the node", func(t *testing.T) {
		p, _ := routingPlugin(t, 2, Options{})
		s := &script{errs: []error{errReset}}
		err := p.routes[ReadWrite][opWrite].run(context.Background(), OpExec, s.do)
		assert.ErrorIs(t, err, ErrOutcomeUnknown)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		var ne *NodeError
		require.ErrorAs(t, err, &ne)
		assert.Equal(t, "n0", ne.Node)
		assert.Equal(t, ReadWrite, ne.Mode)
		assert.Equal(t, OpExec, ne.Op)
		assert.Len(t, s.nodes, 1, "never sent twice")
	})
	t.Run("proved not sent: retried on the primary once it is back", func(t *testing.T) {
		p, ns := routingPlugin(t, 2, Options{})
		s := &script{errs: []error{errNotSent}}
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.probeAll(ns[1]) // n1 promoted
		}()
		require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do))
		assert.Equal(t, []string{"n0/write", "n1/write"}, s.nodes)
	})
	t.Run("25006 on a write pool: retried once on the new primary", func(t *testing.T) {
		p, ns := routingPlugin(t, 2, Options{})
		s := &script{errs: []error{errRefusal}}
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.probeAll(ns[1])
		}()
		require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do))
		assert.Equal(t, []string{"n0/write", "n1/write"}, s.nodes)
	})
	t.Run("25006 twice: no primary, never a third send", func(t *testing.T) {
		p, ns := routingPlugin(t, 2, Options{})
		s := &script{errs: []error{errRefusal, errRefusal}}
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.probeAll(ns[1])
		}()
		err := p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do)
		assert.ErrorIs(t, err, ErrNoPrimary)
		assert.ErrorIs(t, err, ErrReadOnly)
		assert.Len(t, s.nodes, 2)
	})
	t.Run("25006 on a read-only pool: the caller's ErrReadOnly", func(t *testing.T) {
		p, _ := routingPlugin(t, 2, Options{})
		s := &script{errs: []error{errRefusal}}
		err := p.routes[ReadOnly][opWrite].run(context.Background(), OpExec, s.do)
		assert.ErrorIs(t, err, ErrReadOnly)
		assert.Len(t, s.nodes, 1)
		assert.NotNil(t, p.c.Topology().Primary, "a read-only session refusing a write says nothing of the node")
	})
}

func TestRoutingContextEnds(t *testing.T) {
	p, _ := routingPlugin(t, 2, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.routes[Auto][opWrite].run(ctx, OpExec, (&script{errs: []error{errReset}}).do)
	assert.ErrorIs(t, err, ErrOutcomeUnknown, "cut while on the wire: it may have run")
	assert.ErrorIs(t, err, errReset)

	err = p.routes[Auto][opRead].run(ctx, OpQuery, (&script{errs: []error{context.Canceled}}).do)
	assert.Same(t, context.Canceled, err, "a read: the context's own error")
}

func TestRoutingWaitsForAPrimary(t *testing.T) {
	t.Run("up to failover_timeout", func(t *testing.T) {
		p, ns := routingPlugin(t, 2, Options{FailoverTimeout: 50 * time.Millisecond})
		ns[0].Report(errShutdown)
		require.Nil(t, p.c.Topology().Primary)
		start := time.Now()
		s := &script{}
		err := p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do)
		assert.ErrorIs(t, err, ErrNoPrimary)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
		assert.Empty(t, s.nodes, "nothing sent")
	})
	t.Run("until the context ends", func(t *testing.T) {
		p, ns := routingPlugin(t, 2, Options{})
		ns[0].Report(errShutdown)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := p.routes[Auto][opWrite].run(ctx, OpExec, (&script{}).do)
		assert.ErrorIs(t, err, ErrNoPrimary)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("runs once a primary is found", func(t *testing.T) {
		p, ns := routingPlugin(t, 2, Options{})
		ns[0].Report(errShutdown)
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.probeAll(ns[1])
		}()
		s := &script{}
		require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, s.do))
		assert.Equal(t, []string{"n1/write"}, s.nodes)
	})
	t.Run("closed", func(t *testing.T) {
		p, _ := routingPlugin(t, 2, Options{})
		p.closed.Store(true)
		err := p.routes[Auto][opWrite].run(context.Background(), OpExec, (&script{}).do)
		assert.ErrorIs(t, err, ErrClosed)
	})
}

func TestRoutingReadYourWritesRetriesOnThePrimary(t *testing.T) {
	p, _ := routingPlugin(t, 3, Options{})
	ctx := WithReadYourWrites(context.Background())
	st := rywFrom(ctx)
	require.NotNil(t, st)
	assert.Same(t, ctx, WithReadYourWrites(ctx), "one state per context")
	// A failed read of a read-your-writes context is not retried on another
	// replica, which may miss its writes, but on the primary.
	s := &script{}
	first, err := p.routes[Auto][opRead].pick(0)
	require.NoError(t, err)
	err = p.routes[Auto][opRead].retryLoop(ctx, OpQuery, first, errReset, true, s.do)
	require.NoError(t, err)
	assert.Equal(t, []string{"n0/write"}, s.nodes)

	// A write made with the context is counted; other contexts' are not.
	require.NoError(t, p.routes[Auto][opWrite].run(ctx, OpExec, (&script{}).do))
	require.NoError(t, p.routes[Auto][opWrite].run(context.Background(), OpExec, (&script{}).do))
	assert.EqualValues(t, 1, st.writes.Load())
	MarkWritten(ctx)
	assert.EqualValues(t, 2, st.writes.Load())
}

func TestRYWTargetCoversOnlyCountedWrites(t *testing.T) {
	st := &rywState{}
	var asked atomic.Int32
	current := func(context.Context) (int64, error) { asked.Add(1); return 500, nil }
	lsn, err := st.target(context.Background(), current)
	require.NoError(t, err)
	assert.Zero(t, lsn, "no write yet: nothing to wait for, the primary is not asked")
	assert.Zero(t, asked.Load())

	st.writes.Add(1)
	lsn, _ = st.target(context.Background(), current)
	assert.EqualValues(t, 500, lsn)
	lsn, _ = st.target(context.Background(), current)
	assert.EqualValues(t, 500, lsn)
	assert.EqualValues(t, 1, asked.Load(), "asked once per new write")

	st.writes.Add(1)
	_, err = st.target(context.Background(), func(context.Context) (int64, error) { return 0, ErrNoPrimary })
	assert.ErrorIs(t, err, ErrNoPrimary)
	assert.EqualValues(t, 1, st.covered.Load(), "a failed question covers nothing")

	raise(&st.lsn, 100)
	assert.EqualValues(t, 500, st.lsn.Load(), "raise never lowers")
}

func TestClassifyReportsOnlyTheNodesFaults(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{})
	r := p.routes[Auto][opWrite]
	var refusals int
	v, err := r.classify(context.Background(), OpExec, ns[0].Pools[cluster.PoolWrite], errUnique, false, &refusals)
	assert.Equal(t, stop, v)
	assert.Same(t, errUnique, err)
	assert.NotNil(t, p.c.Topology().Primary, "a statement's own error leaves the node in service")

	v, _ = r.classify(context.Background(), OpExec, ns[0].Pools[cluster.PoolWrite], errors.Join(errNotSent), false, &refusals)
	assert.Equal(t, retry, v)
	assert.Nil(t, p.c.Topology().Primary, "a connection-class error takes the node out at once")
}

// lsnAnswers makes askLSN answer from a table: the primary's current
// position and each replica's replay position, by node name.
func lsnAnswers(p *Plugin, at map[string]int64) *[]string {
	var asked []string
	var mu sync.Mutex
	p.lsnSeam = func(_ context.Context, pl *cluster.Pool, _ string) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, pl.Node.Name)
		lsn, ok := at[pl.Node.Name]
		if !ok {
			return 0, errReset
		}
		return lsn, nil
	}
	return &asked
}

func TestReadYourWritesPicksAFreshReplica(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	st := rywFrom(ctx)

	pl, err := r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, cluster.PoolRead, pl.Kind, "no write yet: any replica")

	MarkWritten(ctx)
	asked := lsnAnswers(p, map[string]int64{"n0": 500})
	ns[1].LSN.Store(400)
	ns[2].LSN.Store(500)
	pl, err = r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, ns[2], pl.Node, "the replica whose probe saw it past the write")
	assert.Equal(t, []string{"n0"}, *asked, "replicas already known fresh are not asked")
	r.served(ctx, pl)
	assert.Equal(t, ns[2], st.last.Load())

	// Monotonic: the next read stays on the node it last read.
	ns[1].LSN.Store(900)
	pl, _ = r.first(ctx)
	assert.Equal(t, ns[2], pl.Node)
}

func TestReadYourWritesAsksReplicasThenFallsBackToThePrimary(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	MarkWritten(ctx)
	ns[1].LSN.Store(100)
	ns[2].LSN.Store(100)

	asked := lsnAnswers(p, map[string]int64{"n0": 500, "n1": 450, "n2": 500})
	pl, err := r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, ns[2], pl.Node, "asked: n2 has replayed the write")
	assert.EqualValues(t, 500, ns[2].LSN.Load(), "what it said is kept")
	assert.Contains(t, *asked, "n1")

	// Nobody catches up within read_your_writes_timeout: the primary.
	p, ns = routingPlugin(t, 3, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r = p.routes[Auto][opRead]
	ctx = WithReadYourWrites(context.Background())
	MarkWritten(ctx)
	ns[2].RTT.Store(int64(time.Second)) // slower than the wait: never asked
	asked = lsnAnswers(p, map[string]int64{"n0": 500, "n1": 450, "n2": 450})
	start := time.Now()
	pl, err = r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, ns[0], pl.Node)
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	assert.NotContains(t, *asked, "n2")
}

func TestReadYourWritesWithoutAPrimaryWaits(t *testing.T) {
	p, ns := routingPlugin(t, 2, Options{})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	MarkWritten(ctx)
	ns[0].Report(errShutdown)
	_, err := r.first(ctx)
	assert.ErrorIs(t, err, ErrNoPrimary, "its writes cannot be located: no replica read")
}

func TestReadYourWritesMovesOnlyToANodePastTheLastRead(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{ReadYourWritesTimeout: 30 * time.Millisecond})
	r := p.routes[Auto][opRead]
	ctx := WithReadYourWrites(context.Background())
	st := rywFrom(ctx)
	st.last.Store(ns[1])
	ns[1].Report(errShutdown) // the node last read left rotation
	ns[2].LSN.Store(300)
	lsnAnswers(p, map[string]int64{"n1": 700, "n2": 650})
	pl, err := r.first(ctx)
	require.NoError(t, err)
	assert.Equal(t, ns[0], pl.Node, "n2 never reached what n1 may have shown (700)")
	assert.EqualValues(t, 700, st.lsn.Load())

	st.last.Store(ns[0])
	pl, _ = r.first(ctx)
	assert.Equal(t, ns[0], pl.Node, "after a read on the primary, reads stay there")
}

// A read-your-writes read whose node failed, retried after a wait for the
// topology to change (the primary lost), goes where the context's writes can
// be read: the new primary here, never a replica it did not check (a stale
// read TestSyncCrashHistory once caught under make stress).
func TestRoutingReadYourWritesRetryAfterAWaitSkipsUncheckedReplicas(t *testing.T) {
	p, ns := routingPlugin(t, 3, Options{FailoverTimeout: 2 * time.Second})
	p.lsnSeam = func(context.Context, *cluster.Pool, string) (int64, error) { return 0, errReset }
	ctx := WithReadYourWrites(context.Background())
	require.NoError(t, p.routes[Auto][opWrite].run(ctx, OpExec, (&script{}).do))
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(20 * time.Millisecond)
		ns[0].Report(errShutdown) // the primary is lost: the wait ends, no primary yet
		time.Sleep(50 * time.Millisecond)
		p.probeAll(ns[1]) // n1 promoted
	}()
	s := &script{}
	err := p.routes[Auto][opRead].retryLoop(ctx, OpQuery, ns[0].Pools[cluster.PoolWrite], errReset, true, s.do)
	<-done
	require.NoError(t, err)
	assert.Equal(t, []string{"n1/write"}, s.nodes, "the new primary, not a replica in rotation")
}
