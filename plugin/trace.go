package plugin

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prompt-improver/unifieddb/internal/cluster"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the plugin's spans.
const TracerName = "github.com/prompt-improver/unifieddb/plugin"

// The plugin's own span attributes, beside OpenTelemetry's database ones.
const (
	AttrMode         = attribute.Key("unifieddb.mode")          // auto, read_only, ...
	AttrPool         = attribute.Key("unifieddb.pool")          // write, read, batch, transactional
	AttrAttempts     = attribute.Key("unifieddb.attempts")      // this attempt's number: 2 is the first retry
	AttrOutcome      = attribute.Key("unifieddb.outcome")       // ok, error or unknown
	AttrRowsAffected = attribute.Key("unifieddb.rows_affected") // an Exec's, when a hook asked for it
	AttrFailoverFrom = attribute.Key("unifieddb.failover.from") // host:port of the old primary
	AttrCluster      = attribute.Key("unifieddb.cluster")       // the cluster's name, only when the handle holds several
)

// Tracing returns a StatementHook that makes an OpenTelemetry client span of
// every statement attempt, child of the span in the statement's context,
// and a span of every failover. Spans follow the database semantic
// conventions (db.system.name, db.operation.name, server.address,
// server.port: the node that ran it) and never carry the SQL text nor its
// arguments, which may hold secrets.
//
// One span is one attempt, so that server.address names one node: a read
// retried elsewhere shows as a failed span on the first node and a span
// with unifieddb.attempts = 2 on the next.
func Tracing(tp trace.TracerProvider) StatementHook {
	return &tracer{t: tp.Tracer(TracerName)}
}

type tracer struct{ t trace.Tracer }

var postgresql = semconv.DBSystemNamePostgreSQL

// Statement implements StatementHook.
func (t *tracer) Statement(ctx context.Context, s Statement) {
	op := s.Operation()
	name := op
	if name == "" {
		name = postgresql.Value.AsString()
	}
	outcome := "ok"
	switch {
	case !s.OutcomeKnown:
		outcome = "unknown"
	case s.Err != nil:
		outcome = "error"
	}
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, postgresql,
		semconv.ServerAddress(s.node.Addr.Host), semconv.ServerPort(s.node.Addr.Port),
		AttrMode.String(s.Mode.String()), AttrPool.String(s.Pool),
		AttrAttempts.Int(s.Attempt), AttrOutcome.String(outcome))
	if op != "" {
		attrs = append(attrs, semconv.DBOperationName(op))
	}
	if s.Cluster != "" {
		attrs = append(attrs, AttrCluster.String(s.Cluster))
	}
	if s.Rows >= 0 {
		attrs = append(attrs, AttrRowsAffected.Int64(s.Rows))
	}
	_, span := t.t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(s.Start), trace.WithAttributes(attrs...))
	if s.Err != nil {
		setError(span, s.node, s.Err)
	}
	span.End(trace.WithTimestamp(s.Start.Add(s.Duration)))
}

// setError marks span failed with err's SQLSTATE (db.response.status_code
// and error.type) and its message, the node's password redacted.
func setError(span trace.Span, n *cluster.Node, err error) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		span.SetAttributes(semconv.DBResponseStatusCode(pgErr.Code), semconv.ErrorTypeKey.String(pgErr.Code))
	} else {
		span.SetAttributes(semconv.ErrorTypeOther)
	}
	span.SetStatus(codes.Error, n.Redact(err.Error()))
}

// Failover implements FailoverHook: one span from the moment the old
// primary was last seen healthy to the moment the new one was found.
// server.address and server.port name the new primary.
func (t *tracer) Failover(old, primary Addr, at time.Time, took time.Duration) {
	attrs := []attribute.KeyValue{postgresql, AttrFailoverFrom.String(old.String()),
		semconv.ServerAddress(primary.Host), semconv.ServerPort(primary.Port)}
	_, span := t.t.Start(context.Background(), "failover", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(at.Add(-took)), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(at))
}
