package plugin

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// heldPool is a pool of at most max connections to okConnector (no server).
func heldPool(t *testing.T, max int) *cluster.Pool {
	t.Helper()
	p, _ := testPlugin(t, 1)
	db := sql.OpenDB(okConnector{})
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(max)
	return &cluster.Pool{DB: db, Node: p.c.Nodes()[0], Kind: cluster.PoolWrite, Wait: 50 * time.Millisecond, Max: int32(max)}
}

func TestHeldCountsWhatThePluginHolds(t *testing.T) {
	ctx := context.Background()
	pl := heldPool(t, 2)
	if _, err := poolExec(ctx, pl, false, "UPDATE t SET a = 1"); err != nil {
		t.Fatal(err)
	}
	if n := pl.Held.Load(); n != 0 {
		t.Fatalf("held %d after a statement; want 0", n)
	}
	st1, st2 := &txState{}, &txState{}
	tx1, err := poolBegin(ctx, pl, nil, st1)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Full() {
		t.Fatal("full with one of two connections held")
	}
	tx2, err := poolBegin(ctx, pl, nil, st2)
	if err != nil {
		t.Fatal(err)
	}
	if !pl.Full() {
		t.Fatalf("not full with both connections held (held %d)", pl.Held.Load())
	}
	// Exhausted: a statement waits pool_timeout, not until its context ends.
	_, err = poolExec(ctx, pl, false, "UPDATE t SET a = 1")
	var pte *PoolTimeoutError
	if !errors.As(err, &pte) || !errors.Is(err, ErrPoolTimeout) || pte.MaxOpen != 2 {
		t.Fatalf("got %v; want a PoolTimeoutError of 2 connections", err)
	}
	if n := pl.Held.Load(); n != 2 {
		t.Fatalf("held %d after a timed-out wait; want 2", n)
	}
	for _, tx := range []struct {
		tx *sql.Tx
		st *txState
	}{{tx1, st1}, {tx2, st2}} {
		if err := tx.tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		tx.st.end() // the driver connection calls it (drvTx); okConnector's does not
	}
	if n := pl.Held.Load(); n != 0 {
		t.Fatalf("held %d after both transactions ended; want 0", n)
	}
	if _, err := poolExec(ctx, pl, false, "UPDATE t SET a = 1"); err != nil {
		t.Fatalf("a freed pool: %v", err)
	}
}

func TestHeldTooHighIsCorrectedByStats(t *testing.T) {
	pl := heldPool(t, 1)
	// A transaction database/sql ended on its own (its context ended) left
	// the count up: the pool is not full, and a statement runs.
	pl.Held.Add(1)
	if pl.Full() {
		t.Fatal("full, while database/sql holds no connection")
	}
	if _, err := poolExec(context.Background(), pl, false, "UPDATE t SET a = 1"); err != nil {
		t.Fatal(err)
	}
}

func TestTxStateGivesItsConnectionBackOnce(t *testing.T) {
	ctx := context.Background()
	pl := heldPool(t, 1)
	st := &txState{ctx: ctx}
	tx, err := poolBegin(ctx, pl, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	st.opened(tx)
	if txOf(tx) != st {
		t.Fatal("an open transaction's state is not found from its *sql.Tx")
	}
	if err := st.committed(tx.Commit()); err != nil {
		t.Fatal(err)
	}
	st.end() // a second end (GORM may roll back after a commit) releases nothing
	if n := pl.Held.Load(); n != 0 {
		t.Fatalf("held %d after Commit and Rollback; want 0", n)
	}
	if txOf(tx) != nil {
		t.Fatal("an ended transaction's state stays behind")
	}
}

func TestTxStateEndedBeforeOpenedLeavesNothing(t *testing.T) {
	// database/sql may roll a transaction back (its context ended) before
	// BeginTx returned it to the route.
	pl := heldPool(t, 1)
	st := &txState{ctx: context.Background()}
	tx, err := poolBegin(context.Background(), pl, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	st.end()
	st.opened(tx)
	if txOf(tx) != nil {
		t.Fatal("the state of a transaction that already ended was kept")
	}
}

// A pool that has opened every connection it may, all of them in use by
// something the plugin does not hold (rows still being read, the *sql.DB
// used directly), is full: a statement waits pool_timeout, not until its
// context ends. Statements themselves add nothing to Held.
func TestFullWhenEveryOpenConnectionIsInUse(t *testing.T) {
	ctx := context.Background()
	pl := heldPool(t, 2)
	var conns []*sql.Conn
	for range 2 {
		c, err := pl.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	pl.Open.Store(1) // as connector and drvConn count: one still being dialled
	if pl.Full() {
		t.Fatal("full while the pool has opened fewer connections than it may")
	}
	pl.Open.Store(2)
	if !pl.Full() {
		t.Fatal("not full with every open connection in use")
	}
	_, err := poolExec(ctx, pl, false, "UPDATE t SET a = 1")
	if !errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("got %v; want ErrPoolTimeout", err)
	}
	for _, c := range conns {
		c.Close()
	}
	if pl.Full() {
		t.Fatal("full with every connection back in the pool")
	}
	if _, err := poolExec(ctx, pl, false, "UPDATE t SET a = 1"); err != nil {
		t.Fatalf("a freed pool: %v", err)
	}
	if n := pl.Held.Load(); n != 0 {
		t.Fatalf("held %d after statements; want 0", n)
	}
}
