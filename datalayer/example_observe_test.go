package datalayer_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/prompt-improver/unifieddb/datalayer"
)

func ExampleWithTracerProvider() {
	ctx := context.Background()
	// The application's provider (here the global one, set up elsewhere
	// with its exporter): a span per statement, child of ctx's span.
	m, err := datalayer.New(ctx, datalayer.DefaultConfig(), datalayer.WithTracerProvider(otel.GetTracerProvider()))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
}

func ExampleWithStatementHook() {
	ctx := context.Background()
	// Warn about slow statements, with the node that ran them.
	slow := datalayer.StatementFunc(func(ctx context.Context, s datalayer.Statement) {
		if s.Duration > 200*time.Millisecond {
			slog.WarnContext(ctx, "slow statement", "node", s.Node, "mode", s.Mode.String(),
				"op", s.Operation(), "duration", s.Duration, "attempt", s.Attempt)
		}
	})
	m, err := datalayer.New(ctx, datalayer.DefaultConfig(), datalayer.WithStatementHook(slow))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
}
