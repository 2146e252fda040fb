package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// nodeErrorOf returns err's *NodeError, failing the test when there is none.
func nodeErrorOf(t *testing.T, err error) *NodeError {
	t.Helper()
	var ne *NodeError
	if !errors.As(err, &ne) {
		t.Fatalf("%v: no *NodeError in the chain", err)
	}
	return ne
}

// checkNodeError checks the node, mode and op of err's *NodeError and that
// every sentinel and cause in want is still found with errors.Is.
func checkNodeError(t *testing.T, err error, node string, mode Mode, op string, want ...error) {
	t.Helper()
	ne := nodeErrorOf(t, err)
	if ne.Node != node || ne.Mode != mode || ne.Op != op {
		t.Fatalf("NodeError{%s %s %s}; want {%s %s %s}", ne.Node, ne.Mode, ne.Op, node, mode, op)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("errors.Is(%v, %v) = false", err, w)
		}
	}
	if !strings.Contains(err.Error(), node) {
		t.Errorf("%q does not name the node %s", err, node)
	}
}

func TestClassifyGivesNodeErrors(t *testing.T) {
	readOnly := &pgconn.PgError{Code: codeReadOnlyTransaction, Message: "cannot execute INSERT in a read-only transaction"}
	t.Run("a read-only session's refusal", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		r := &route{p: p, s: &p.site, mode: ReadOnly, read: true}
		v, err := r.classify(context.Background(), OpExec, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolRead}, readOnly, true, new(int))
		if v != stop {
			t.Fatal("want stop")
		}
		checkNodeError(t, err, "a", ReadOnly, OpExec, ErrReadOnly)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != codeReadOnlyTransaction {
			t.Fatalf("the server's error is lost: %v", err)
		}
	})
	t.Run("a second refusal by a write pool", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		r := &route{p: p, s: &p.site, mode: ReadWrite}
		refusals := 1
		v, err := r.classify(context.Background(), OpExec, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolWrite}, readOnly, false, &refusals)
		if v != stop {
			t.Fatal("want stop")
		}
		checkNodeError(t, err, "a", ReadWrite, OpExec, ErrNoPrimary, ErrReadOnly, readOnly)
	})
	t.Run("a write whose connection broke after it was sent", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		r := &route{p: p, s: &p.site, mode: Auto}
		v, err := r.classify(context.Background(), OpExec, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolWrite}, io.ErrUnexpectedEOF, false, new(int))
		if v != stop {
			t.Fatal("want stop")
		}
		checkNodeError(t, err, "a", Auto, OpExec, ErrOutcomeUnknown, io.ErrUnexpectedEOF)
	})
	t.Run("a write whose context ended while it ran", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		r := &route{p: p, s: &p.site, mode: Batch}
		ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
		defer cancel()
		inFlight := &pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"}
		sent := errors.Join(inFlight, context.DeadlineExceeded)
		v, err := r.classify(ctx, OpQuery, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolBatch}, sent, false, new(int))
		if v != stop {
			t.Fatal("want stop")
		}
		checkNodeError(t, err, "a", Batch, OpQuery, ErrOutcomeUnknown, context.DeadlineExceeded, inFlight)
	})
	t.Run("the statement's own error stays as plain GORM gives it", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		r := &route{p: p, s: &p.site, mode: Auto}
		dup := &pgconn.PgError{Code: "23505"}
		_, err := r.classify(context.Background(), OpExec, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolWrite}, dup, false, new(int))
		if err != dup {
			t.Fatalf("got %v; want the server's error itself", err)
		}
	})
}

func TestRetryLoopNamesTheLastNode(t *testing.T) {
	t.Run("failover_timeout ran out", func(t *testing.T) {
		p, _ := testPlugin(t, 1) // no primary in the topology
		p.opts.FailoverTimeout = 30 * time.Millisecond
		r := &route{p: p, s: &p.site, mode: ReadWrite}
		err := r.retryLoop(context.Background(), OpExec, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolWrite}, driver.ErrBadConn, false,
			func(*cluster.Pool) error { t.Fatal("no node to retry on"); return nil })
		checkNodeError(t, err, "a", ReadWrite, OpExec, ErrNoPrimary, driver.ErrBadConn)
	})
	t.Run("the context ended while waiting for a node", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		p.opts.FailoverTimeout = time.Hour
		r := &route{p: p, s: &p.site, mode: Auto, read: true}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := r.retryLoop(ctx, OpQuery, &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolRead}, driver.ErrBadConn, true,
			func(*cluster.Pool) error { t.Fatal("no node to retry on"); return nil })
		checkNodeError(t, err, "a", Auto, OpQuery, context.DeadlineExceeded, driver.ErrBadConn)
	})
}

func TestTxTranslateGivesNodeErrors(t *testing.T) {
	readOnly := &pgconn.PgError{Code: codeReadOnlyTransaction}
	t.Run("a read-only transaction", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		tx := &txState{mode: ReadOnly, pl: &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolRead}, readOnly: true}
		err := tx.translate(OpExec, readOnly)
		checkNodeError(t, err, "a", ReadOnly, OpExec, ErrReadOnly, readOnly)
		if IsRetryableTxError(err) {
			t.Fatal("a read-only refusal is no reason to re-run")
		}
	})
	t.Run("a read-write transaction on a demoted node", func(t *testing.T) {
		p, _ := testPlugin(t, 1)
		tx := &txState{mode: Transactional, pl: &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolTx}}
		err := tx.translate(OpQuery, readOnly)
		checkNodeError(t, err, "a", Transactional, OpQuery, ErrNoPrimary, readOnly)
		if !IsRetryableTxError(err) {
			t.Fatal("a transaction on a demoted node may be re-run")
		}
	})
}

func TestCommitLostGivesANodeError(t *testing.T) {
	p, _ := testPlugin(t, 1)
	db := sql.OpenDB(brokenCommit{})
	defer db.Close()
	stx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	tx := &txState{ctx: context.Background(), mode: Auto, pl: &cluster.Pool{Node: p.c.Nodes()[0], Kind: cluster.PoolWrite}}
	err = tx.committed(stx.Commit())
	checkNodeError(t, err, "a", Auto, OpCommit, ErrOutcomeUnknown, io.ErrUnexpectedEOF)
}

func TestNodeErrorHidesThePassword(t *testing.T) {
	p, _ := testPlugin(t, 1)
	p.c.Nodes()[0].SetSecretForTest("s3cret")
	err := newNodeError(&cluster.Pool{Node: p.c.Nodes()[0]}, ReadWrite, OpExec, errors.New("password s3cret rejected"))
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("%q shows the password", err)
	}
	want := "password *** rejected (node a, read_write mode, exec)"
	if err.Error() != want {
		t.Fatalf("got %q; want %q", err, want)
	}
	if newNodeError(&cluster.Pool{Node: p.c.Nodes()[0]}, Auto, OpExec, nil) != nil {
		t.Fatal("no error must stay nil")
	}
}

// brokenCommit is a database/sql connector whose COMMIT loses the
// connection: the error the driver gives when the server went away after
// the COMMIT was sent.
type brokenCommit struct{}

func (brokenCommit) Connect(context.Context) (driver.Conn, error) { return brokenConn{}, nil }
func (brokenCommit) Driver() driver.Driver                        { return nil }

type brokenConn struct{}

func (brokenConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (brokenConn) Close() error                        { return nil }
func (brokenConn) Begin() (driver.Tx, error)           { return brokenConn{}, nil }
func (brokenConn) Commit() error                       { return io.ErrUnexpectedEOF }
func (brokenConn) Rollback() error                     { return nil }
