package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// attrs maps a span's attributes by key.
func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// onlySpan returns the one span named name that exp holds.
func onlySpan(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %s: %v", name, found)
	return found[0]
}

// assertStatementSpan checks the attributes every statement span has.
func assertStatementSpan(t *testing.T, s tracetest.SpanStub, op string, port, attempts int, outcome string) {
	t.Helper()
	a := attrs(s)
	assert.Equal(t, trace.SpanKindClient, s.SpanKind)
	assert.Equal(t, "postgresql", a["db.system.name"].AsString())
	assert.Equal(t, op, a["db.operation.name"].AsString())
	assert.Equal(t, "127.0.0.1", a["server.address"].AsString())
	assert.EqualValues(t, port, a["server.port"].AsInt64())
	assert.Equal(t, "auto", a["unifieddb.mode"].AsString())
	assert.EqualValues(t, attempts, a["unifieddb.attempts"].AsInt64())
	assert.Equal(t, outcome, a["unifieddb.outcome"].AsString())
	for _, k := range []attribute.Key{"db.query.text", "db.statement", "db.query.parameter"} {
		assert.NotContains(t, a, k, "no SQL text, no argument values")
	}
	assert.False(t, s.EndTime.Before(s.StartTime))
}

func TestTracingSpans(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { assert.NoError(t, tp.Shutdown(context.Background())) }()
	hook := &hookRecorder{}
	cfg := testenv.Config(c)
	haConfig(&cfg)
	// Nodes are probed only after a failure: the read after a replica's
	// crash meets the crash instead of a probe's verdict on it.
	cfg.EnableHealthChecks = false
	var m *datalayer.Manager
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, datalayer.WithTracerProvider(tp), datalayer.WithStatementHook(hook))
		return err
	}))
	defer m.Close()
	seedItems(t, c, m, 10)

	// A write goes to the primary.
	exp.Reset()
	require.NoError(t, stmt(t, ctx, "traced write", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&haItem{Name: "traced"}).Error
	}))
	assertStatementSpan(t, onlySpan(t, exp, "INSERT"), "INSERT", primary.Port(), 1, "ok")

	// A routed read goes to a replica, as a child of the caller's span.
	exp.Reset()
	var it haItem
	require.NoError(t, stmt(t, ctx, "traced read", func(ctx context.Context) error {
		ctx, caller := tp.Tracer("test").Start(ctx, "caller")
		defer caller.End()
		return m.DB().WithContext(ctx).First(&it, 1).Error
	}))
	read := onlySpan(t, exp, "SELECT")
	port := int(attrs(read)["server.port"].AsInt64())
	assert.Contains(t, []int{r1.Port(), r2.Port()}, port, "a replica served it")
	assertStatementSpan(t, read, "SELECT", port, 1, "ok")
	assert.Equal(t, onlySpan(t, exp, "caller").SpanContext.SpanID(), read.Parent.SpanID())

	// replica1 crashes: the first read sent to it fails there and is re-run
	// on another node, as attempt 2.
	require.NoError(t, r1.Kill())
	var failed, retried *tracetest.SpanStub
	for i := 0; i < 6 && retried == nil; i++ {
		exp.Reset()
		hook.take()
		require.NoError(t, stmt(t, ctx, "read after the crash", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).First(&it, 1).Error
		}))
		for _, s := range exp.GetSpans() {
			switch attrs(s)["unifieddb.attempts"].AsInt64() {
			case 1:
				failed = &s
			case 2:
				retried = &s
			}
		}
	}
	require.NotNil(t, retried, "no read met the crashed replica")
	assertStatementSpan(t, *failed, "SELECT", r1.Port(), 1, "error")
	assert.Equal(t, codes.Error, failed.Status.Code)
	assert.NotContains(t, failed.Status.Description, c.Password())
	assertStatementSpan(t, *retried, "SELECT", int(attrs(*retried)["server.port"].AsInt64()), 2, "ok")
	assert.NotEqual(t, r1.Port(), attrs(*retried)["server.port"].AsInt64())
	// The user's hook saw the same two attempts.
	seen := hook.take()
	require.Len(t, seen, 2)
	assert.Equal(t, r1.Addr(), seen[0].Node)
	assert.Error(t, seen[0].Err)
	assert.Equal(t, 1, seen[0].Attempt)
	assert.False(t, seen[0].Last, "a retry follows")
	assert.NoError(t, seen[1].Err)
	assert.Equal(t, 2, seen[1].Attempt)
	assert.True(t, seen[1].Last)

	// A failover: the primary stops and replica2 is promoted. The next write
	// waits for it and goes there; the failover has a span of its own.
	exp.Reset()
	require.NoError(t, nodeOp(t, ctx, "stop the primary", primary.Stop))
	require.NoError(t, nodeOp(t, ctx, "promote replica2", r2.Promote))
	require.NoError(t, stmt(t, ctx, "write after the failover", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&haItem{Name: "after"}).Error
	}))
	require.Eventually(t, func() bool {
		for _, s := range exp.GetSpans() {
			if s.Name == "failover" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no failover span")
	fo := onlySpan(t, exp, "failover")
	a := attrs(fo)
	assert.Equal(t, "postgresql", a["db.system.name"].AsString())
	assert.Equal(t, primary.Addr(), a["unifieddb.failover.from"].AsString())
	assert.Equal(t, "127.0.0.1", a["server.address"].AsString())
	assert.EqualValues(t, r2.Port(), a["server.port"].AsInt64())
	assert.True(t, fo.EndTime.After(fo.StartTime))
	var wrote bool
	for _, s := range exp.GetSpans() {
		if s.Name == "INSERT" && attrs(s)["unifieddb.outcome"].AsString() == "ok" {
			// A single-row Create runs without a transaction: the attempt
			// that met the stopped primary (if any) was retried here.
			assertStatementSpan(t, s, "INSERT", r2.Port(), int(attrs(s)["unifieddb.attempts"].AsInt64()), "ok")
			wrote = true
		}
	}
	assert.True(t, wrote, "the write after the failover has its span")
}
