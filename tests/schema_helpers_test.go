package tests

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/promptimprover"
)

// freshConfig is the shared cluster's configuration on a fresh, empty
// database (freshDatabase).
func freshConfig(t *testing.T) datalayer.Config {
	t.Helper()
	cfg := newManagerConfig(t)
	cfg.Database = freshDatabase(t)
	return cfg
}

// openManager opens a Manager on cfg with opts, closed at cleanup.
func openManager(t *testing.T, cfg datalayer.Config, opts ...datalayer.Option) *datalayer.Manager {
	t.Helper()
	var m *datalayer.Manager
	require.NoError(t, stmt(t, testCtx(t), "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, opts...)
		return err
	}))
	t.Cleanup(func() { m.Close() })
	return m
}

// newAppManager is newManager for prompt-improver, opted into explicitly:
// its models registered, its SQL migrations handed.
func newAppManager(t *testing.T, c *pgcluster.Cluster, mutate func(*datalayer.Config)) *datalayer.Manager {
	t.Helper()
	cfg := testenv.Config(c)
	if mutate != nil {
		mutate(&cfg)
	}
	m := openManager(t, cfg, datalayer.WithMigrations(promptimprover.Migrations()))
	require.NoError(t, promptimprover.Register(m.Registry()))
	return m
}

// schemaOf lists the tables of the public schema and the extensions
// installed besides plpgsql, read on the primary.
func schemaOf(t *testing.T, m *datalayer.Manager) (tables, extensions []string) {
	t.Helper()
	db := m.Conn(testCtx(t), datalayer.ReadWrite)
	require.NoError(t, db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`).Scan(&tables).Error)
	require.NoError(t, db.Raw(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`).Scan(&extensions).Error)
	return tables, extensions
}

func bufLogger(buf *syncBuffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level}))
}

// linesWith returns the lines of s containing sub.
func linesWith(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}
