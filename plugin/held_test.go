package plugin

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

// heldPool is a pool of at most max connections to okConnector (no server).
func heldPool(t *testing.T, max int) *pool {
	t.Helper()
	p, _ := testPlugin(t, 1)
	db := sql.OpenDB(okConnector{})
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(max)
	return &pool{db: db, node: p.nodeList()[0], kind: poolWrite, wait: 50 * time.Millisecond, max: int32(max)}
}

func TestHeldCountsWhatThePluginHolds(t *testing.T) {
	ctx := context.Background()
	pl := heldPool(t, 2)
	if _, err := pl.exec(ctx, false, "UPDATE t SET a = 1"); err != nil {
		t.Fatal(err)
	}
	if n := pl.held.Load(); n != 0 {
		t.Fatalf("held %d after a statement; want 0", n)
	}
	tx1, c1, err := pl.begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl.full() {
		t.Fatal("full with one of two connections held")
	}
	tx2, c2, err := pl.begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !pl.full() {
		t.Fatalf("not full with both connections held (held %d)", pl.held.Load())
	}
	// Exhausted: a statement waits pool_timeout, not until its context ends.
	_, err = pl.exec(ctx, false, "UPDATE t SET a = 1")
	var pte *PoolTimeoutError
	if !errors.As(err, &pte) || !errors.Is(err, ErrPoolTimeout) || pte.MaxOpen != 2 {
		t.Fatalf("got %v; want a PoolTimeoutError of 2 connections", err)
	}
	if n := pl.held.Load(); n != 2 {
		t.Fatalf("held %d after a timed-out wait; want 2", n)
	}
	for _, tx := range []struct {
		tx *sql.Tx
		c  *sql.Conn
	}{{tx1, c1}, {tx2, c2}} {
		if err := tx.tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		pl.end(tx.c)
	}
	if n := pl.held.Load(); n != 0 {
		t.Fatalf("held %d after both transactions ended; want 0", n)
	}
	if _, err := pl.exec(ctx, false, "UPDATE t SET a = 1"); err != nil {
		t.Fatalf("a freed pool: %v", err)
	}
}

func TestHeldTooHighIsCorrectedByStats(t *testing.T) {
	pl := heldPool(t, 1)
	// A transaction database/sql ended on its own (its context ended) left
	// the count up: the pool is not full, and a statement runs.
	pl.held.Add(1)
	if pl.full() {
		t.Fatal("full, while database/sql holds no connection")
	}
	if _, err := pl.exec(context.Background(), false, "UPDATE t SET a = 1"); err != nil {
		t.Fatal(err)
	}
}

func TestTxConnGivesItsConnectionBackOnce(t *testing.T) {
	ctx := context.Background()
	pl := heldPool(t, 1)
	tx, c, err := pl.begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	tc := &txConn{Tx: tx, ctx: ctx, pool: pl, conn: c}
	if err := tc.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = tc.Rollback() // GORM may roll back after a commit: no second release
	if n := pl.held.Load(); n != 0 {
		t.Fatalf("held %d after Commit and Rollback; want 0", n)
	}
}
