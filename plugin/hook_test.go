package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestStatementOperation(t *testing.T) {
	for q, want := range map[string]string{
		`SELECT * FROM "users" WHERE id = $1`:      "SELECT",
		"  insert into t values ($1)":              "INSERT",
		"(SELECT 1) UNION (SELECT 2)":              "SELECT",
		"\n\tWITH x AS (SELECT 1) SELECT * FROM x": "WITH",
		"":   "",
		"$1": "",
	} {
		s := Statement{Query: q}
		if got := s.Operation(); got != want {
			t.Errorf("Operation(%q) = %q, want %q", q, got, want)
		}
	}
}

// hookedPlugin is a Plugin with metrics on and the given user hooks, and
// two pools on two nodes, no server.
func hookedPlugin(t *testing.T, hooks ...StatementHook) (*Plugin, *cluster.Pool, *cluster.Pool) {
	p, nodes := bareTestPlugin(t, []string{"127.0.0.1:5001", "127.0.0.1:5002"}, Options{Metrics: true, StatementHooks: hooks}, slog.New(slog.DiscardHandler))
	p.hooks = p.statementHooks()
	p.c.StartForTest()
	a, b := nodes[0], nodes[1]
	a.Addr, b.Addr = Addr{Host: "127.0.0.1", Port: 5001}, Addr{Host: "127.0.0.1", Port: 5002}
	a.SetSecretForTest("hunter2")
	return p, &cluster.Pool{Node: a, Kind: cluster.PoolRead}, &cluster.Pool{Node: b, Kind: cluster.PoolWrite}
}

// A retried attempt is reported before the next one, the last one with the
// call's error; the metrics count both, and the retry on the node that re-ran it.
func TestAttemptsReportEachAttemptOnce(t *testing.T) {
	var seen []Statement
	p, first, second := hookedPlugin(t, StatementFunc(func(_ context.Context, s Statement) { seen = append(seen, s) }))
	ctx := context.Background()
	broke := errors.New("connection reset")
	a := attempts{p: p, mode: ReadOnly, query: "SELECT 1"}
	a.begin(ctx)
	a.ran(first, -1, broke)
	if len(seen) != 0 {
		t.Fatalf("an attempt was reported before its fate was known: %+v", seen)
	}
	a.begin(ctx)
	a.ran(second, -1, nil)
	a.end(ctx, nil)
	if len(seen) != 2 {
		t.Fatalf("want 2 attempts, saw %+v", seen)
	}
	if s := seen[0]; s.Node != first.Node.Name || s.Pool != "read" || s.Attempt != 1 || s.Last || s.Err != broke || !s.OutcomeKnown {
		t.Errorf("first attempt: %+v", s)
	}
	if s := seen[1]; s.Node != second.Node.Name || s.Pool != "write" || s.Attempt != 2 || !s.Last || s.Err != nil || s.Mode != ReadOnly {
		t.Errorf("second attempt: %+v", s)
	}
	m := p.Metrics()
	if f := m.Nodes[first.Node.Name]; f.Queries != 1 || f.Errors != 1 || f.Retries != 0 {
		t.Errorf("first node figures: %+v", f)
	}
	if f := m.Nodes[second.Node.Name]; f.Queries != 1 || f.Errors != 0 || f.Retries != 1 {
		t.Errorf("second node figures: %+v", f)
	}
	if f := m.Modes["read_only"]; f.Queries != 2 || f.Retries != 1 {
		t.Errorf("mode figures: %+v", f)
	}

	// The last attempt carries the call's error, and whether the outcome is known.
	seen = nil
	a = attempts{p: p, mode: ReadWrite, query: "INSERT"}
	a.begin(ctx)
	a.ran(second, -1, broke)
	a.end(ctx, fmt.Errorf("%w: %w", ErrOutcomeUnknown, broke))
	if len(seen) != 1 || !seen[0].Last || seen[0].OutcomeKnown || !errors.Is(seen[0].Err, ErrOutcomeUnknown) {
		t.Errorf("outcome unknown: %+v", seen)
	}

	// No attempt (no node was found): nothing to report.
	seen = nil
	a = attempts{p: p, mode: ReadWrite, query: "INSERT"}
	a.end(ctx, ErrNoPrimary)
	if len(seen) != 0 {
		t.Errorf("reported a statement that never ran: %+v", seen)
	}
}

// Reporting an attempt to the metrics and a user hook allocates nothing.
func TestAttemptsAllocateNothing(t *testing.T) {
	var attempt int
	p, pl, _ := hookedPlugin(t, StatementFunc(func(_ context.Context, s Statement) { attempt = s.Attempt }))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		a := attempts{p: p, mode: Auto, query: "SELECT 1"}
		a.begin(ctx)
		a.ran(pl, -1, nil)
		a.end(ctx, nil)
	})
	if allocs != 0 || attempt != 1 {
		t.Errorf("%v allocations per statement (attempt %d)", allocs, attempt)
	}
}

func TestTracingSpanOfAFailedAttempt(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	p, pl, _ := hookedPlugin(t, Tracing(tp))
	ctx := context.Background()
	a := attempts{p: p, mode: Batch, query: "DELETE FROM t"}
	a.begin(ctx)
	a.ran(pl, 0, &pgconn.PgError{Code: "40P01", Message: "deadlock; password hunter2"})
	a.end(ctx, a.err)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("want one span, got %d", len(spans))
	}
	s := spans[0]
	got := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		got[kv.Key] = kv.Value.Emit()
	}
	for k, want := range map[attribute.Key]string{
		"db.system.name": "postgresql", "db.operation.name": "DELETE", "server.address": "127.0.0.1",
		"server.port": "5001", "unifieddb.mode": "batch", "unifieddb.pool": "read", "unifieddb.attempts": "1",
		"unifieddb.outcome": "error", "db.response.status_code": "40P01", "error.type": "40P01",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if s.Name != "DELETE" || s.Status.Code != codes.Error || s.Status.Description == "" {
		t.Errorf("span %q status %+v", s.Name, s.Status)
	}
	if got := s.Status.Description; strings.Contains(got, "hunter2") {
		t.Errorf("password in the span status: %q", got)
	}
}

// With the metrics as the only hook (the default), an attempt is counted
// without building a Statement, timed on the monotonic clock: the same
// figures as through the hook, and a duration.
func TestAttemptsMetricsOnlyCountsAsTheHook(t *testing.T) {
	p, first, second := hookedPlugin(t)
	if !p.metricsOnly {
		t.Fatal("metrics alone should take the direct path")
	}
	ctx := context.Background()
	a := attempts{p: p, mode: ReadOnly, query: "SELECT 1"}
	a.begin(ctx)
	time.Sleep(time.Millisecond)
	a.ran(first, -1, errors.New("connection reset"))
	a.begin(ctx)
	a.ran(second, -1, nil)
	a.end(ctx, nil)
	m := p.Metrics()
	if f := m.Nodes[first.Node.Name]; f.Queries != 1 || f.Errors != 1 || f.Retries != 0 || f.Total < time.Millisecond {
		t.Errorf("first node figures: %+v", f)
	}
	if f := m.Nodes[second.Node.Name]; f.Queries != 1 || f.Errors != 0 || f.Retries != 1 || f.Total <= 0 {
		t.Errorf("second node figures: %+v", f)
	}
	if f := m.Modes["read_only"]; f.Queries != 2 || f.Retries != 1 {
		t.Errorf("mode figures: %+v", f)
	}
	allocs := testing.AllocsPerRun(100, func() {
		a := attempts{p: p, mode: Auto, query: "SELECT 1"}
		a.begin(ctx)
		a.ran(second, -1, nil)
		a.end(ctx, nil)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per attempt", allocs)
	}
}
