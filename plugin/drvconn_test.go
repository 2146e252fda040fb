package plugin

import (
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// A statement on a pinned connection gets a route's error translation,
// without its retries.
func TestPinnedErrorIsTranslatedLikeARoute(t *testing.T) {
	readOnly := &pgconn.PgError{Code: codeReadOnlyTransaction}
	syntax := &pgconn.PgError{Code: "42601"}
	ctx := context.Background()
	p, _ := testPlugin(t, 1)
	n := p.c.Nodes()[0]
	read, write := &cluster.Pool{Node: n, Kind: cluster.PoolRead}, &cluster.Pool{Node: n, Kind: cluster.PoolWrite}

	t.Run("a read-only session refuses a write", func(t *testing.T) {
		err := pinnedError(ctx, read, watched{mode: ReadOnly}, OpQuery, readOnly)
		checkNodeError(t, err, "a", ReadOnly, OpQuery, ErrReadOnly, readOnly)
	})
	t.Run("the pinned primary no longer takes writes", func(t *testing.T) {
		err := pinnedError(ctx, write, watched{mode: Auto, write: true}, OpExec, readOnly)
		checkNodeError(t, err, "a", Auto, OpExec, ErrNoPrimary, readOnly)
	})
	t.Run("a write whose connection broke", func(t *testing.T) {
		err := pinnedError(ctx, write, watched{mode: ReadWrite, write: true}, OpExec, io.ErrUnexpectedEOF)
		checkNodeError(t, err, "a", ReadWrite, OpExec, ErrOutcomeUnknown, io.ErrUnexpectedEOF)
	})
	t.Run("a read whose connection broke", func(t *testing.T) {
		err := pinnedError(ctx, write, watched{mode: Auto}, OpQuery, io.ErrUnexpectedEOF)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("got %v; want the driver's error as it is", err)
		}
	})
	t.Run("a write whose context ended while it ran", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := pinnedError(cctx, write, watched{mode: Batch, write: true}, OpExec, io.ErrUnexpectedEOF)
		checkNodeError(t, err, "a", Batch, OpExec, ErrOutcomeUnknown)
		// run marks what it knows was never sent: the context was done first.
		if err := pinnedError(cctx, write, watched{mode: Batch, write: true}, OpExec, &unsentError{cctx.Err()}); err != context.Canceled {
			t.Fatalf("got %v; want the context's own error: nothing was sent", err)
		}
	})
	t.Run("the statement's own error", func(t *testing.T) {
		if err := pinnedError(ctx, write, watched{mode: Auto, write: true}, OpExec, syntax); err != syntax {
			t.Fatalf("got %v; want the server's error as it is", err)
		}
		if pinnedError(ctx, write, watched{}, OpExec, nil) != nil {
			t.Fatal("no error must stay nil")
		}
	})
}

func TestKindMode(t *testing.T) {
	for k, want := range map[cluster.PoolKind]Mode{cluster.PoolWrite: Auto, cluster.PoolRead: ReadOnly, cluster.PoolBatch: Batch, cluster.PoolTx: Transactional} {
		if got := kindMode(k); got != want {
			t.Errorf("kindMode(%s) = %s; want %s", k, got, want)
		}
	}
}
