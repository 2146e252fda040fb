package tests

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// Two writable nodes: replica1 is promoted while the primary still runs.
// Writes go to the newer timeline and the report says degraded.
func TestSplitBrainPicksTheNewestTimeline(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	old, promoted := c.Node("primary"), c.Node("replica1")
	m := newManager(t, c, haConfig)
	require.Equal(t, old.Port(), servedByRaw(t, m.DB().WithContext(ctx)))

	require.NoError(t, nodeOp(t, ctx, "promote replica1", promoted.Promote))
	require.Eventually(t, func() bool {
		return m.Plugin().Status().SplitBrain && servedByRaw(t, m.DB().WithContext(ctx)) == promoted.Port()
	}, 10*time.Second, 50*time.Millisecond, "writes go to the node on the newest timeline")
	var r datalayer.HealthReport
	require.NoError(t, stmt(t, ctx, "HealthCheck", func(ctx context.Context) (err error) {
		r, err = m.HealthCheck(ctx)
		return err
	}))
	assert.Equal(t, datalayer.StatusDegraded, r.Status)
	assert.True(t, r.SplitBrain)
}

// With background health checks off, a dead replica is still noticed by the
// reads that fail on it (passive signal) and no read fails.
func TestPassiveSignalsWithoutHealthChecks(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.EnableHealthChecks = false
	})
	seedItems(t, c, m, 20)
	l := startLoad(t, ctx, 4, 5*time.Millisecond, readOp(m, 20))
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, c.Node("replica1").Kill())
	time.Sleep(2 * time.Second)
	rs := l.Stop()
	assert.Empty(t, failures(rs), "no read fails")
	st := m.Plugin().Status()
	for _, n := range st.Nodes {
		if n.Port == c.Node("replica1").Port() {
			assert.False(t, n.Healthy, "the dead replica is out of service")
		}
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEchoAndDebugLogging(t *testing.T) {
	ctx := testCtx(t)
	var buf syncBuffer
	cfg := testenv.Config(shared)
	cfg.Echo, cfg.DebugMode = true, true
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := datalayer.New(ctx, cfg, datalayer.WithLogger(log))
	require.NoError(t, err)
	defer m.Close()
	var one int
	require.NoError(t, m.Conn(ctx, datalayer.ReadOnly).Raw("SELECT 1 WHERE ? <> ''", "secret-arg").Scan(&one).Error)

	out := buf.String()
	var echo string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "unifieddb: sql") {
			echo = line
		}
	}
	require.NotEmpty(t, echo, "echo logs the statement:\n%s", out)
	for _, want := range []string{"node=127.0.0.1:", "mode=read_only", "duration=", "SELECT 1"} {
		assert.Contains(t, echo, want)
	}
	assert.NotContains(t, echo, "error=", "a statement that succeeded has no error attribute")
	assert.Contains(t, out, "unifieddb: routed", "debug_mode logs routing decisions")
	assert.NotContains(t, out, cfg.Password)
	assert.NotContains(t, out, "secret-arg", "arguments are never logged")

	// Off by default: no statement lines.
	buf = syncBuffer{}
	quiet, err := datalayer.New(ctx, testenv.Config(shared), datalayer.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	require.NoError(t, err)
	defer quiet.Close()
	require.NoError(t, quiet.DB().WithContext(ctx).Raw("SELECT 1").Scan(&one).Error)
	assert.NotContains(t, buf.String(), "unifieddb: sql")
}
