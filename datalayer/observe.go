package datalayer

import (
	"go.opentelemetry.io/otel/trace"

	"github.com/prompt-improver/unifieddb/plugin"
)

// WithStatementHook adds h to the hooks that see every statement attempt
// (node, mode, pool, duration, error, attempt number, whether the outcome is
// known), after the Manager's own metrics and echo. It runs on the caller's
// goroutine: keep it short. It may be given more than once.
func WithStatementHook(h StatementHook) Option {
	return func(o *options) {
		if h != nil {
			o.stmtHooks = append(o.stmtHooks, h)
		}
	}
}

// WithTracerProvider makes OpenTelemetry spans with tp: one client span per
// statement attempt (db.system.name, db.operation.name, server.address and
// server.port of the node that ran it, unifieddb.mode, unifieddb.attempts,
// unifieddb.outcome; never the SQL text nor its arguments), child of the
// span in the statement's context, and one span per failover. Off unless
// given: nil keeps it off.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) {
		if tp != nil {
			o.stmtHooks = append(o.stmtHooks, plugin.Tracing(tp))
		}
	}
}
