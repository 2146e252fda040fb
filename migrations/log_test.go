package migrations_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/migrations"
)

// upLogs applies testdata twice with a logger at level and returns the lines logged.
func upLogs(t *testing.T, level slog.Level) string {
	t.Helper()
	var logs bytes.Buffer
	h := slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level})
	r := newRunner(t, openSQL(t, freshDSN(t)), migrations.WithLogger(slog.New(h).With("run", "up")))
	for range 2 {
		_, err := r.Up(context.Background())
		require.NoError(t, err)
	}
	return logs.String()
}

// goose logs every statement, and "no migrations to run" on every start, at INFO: at INFO the
// runner logs only the migrations it applied.
func TestLoggerAtInfoGetsNoStatementLines(t *testing.T) {
	logs := upLogs(t, slog.LevelInfo)
	require.Contains(t, logs, "migration completed")
	require.Contains(t, logs, "00002_index.sql")
	require.Contains(t, logs, "run=up", "the logger's own attributes are kept")
	require.NotContains(t, logs, "executing statement")
	require.NotContains(t, logs, "CREATE TABLE widgets")
	require.NotContains(t, logs, "no migrations to run")
	require.NotContains(t, logs, "level=DEBUG")
}

func TestLoggerAtDebugGetsStatementLines(t *testing.T) {
	logs := upLogs(t, slog.LevelDebug)
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "executing statement") || strings.Contains(line, "no migrations to run") {
			require.Contains(t, line, "level=DEBUG", line)
		}
	}
	require.Contains(t, logs, "CREATE TABLE widgets")
	require.Regexp(t, `level=INFO msg="migration completed"`, logs)
}
