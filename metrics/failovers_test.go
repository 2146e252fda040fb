package metrics

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// Starting with the first host down is discovery, not a failover: an alert
// on unifieddb_failovers_total must not fire on every restart.
func TestStartWithFirstHostDownIsNotAFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Replicas: 1})
	require.NoError(t, err)
	defer c.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := l.Addr().(*net.TCPAddr)
	require.NoError(t, l.Close())

	live, replica := c.Nodes()[0], c.Nodes()[1]
	cfg := testenv.Config(c)
	cfg.Host, cfg.Port = "127.0.0.1", down.Port
	cfg.ReplicaHosts = []string{live.Addr()}
	cfg.EnableHA = true
	// A few restarts: whichever probe answers first, none is a failover.
	for i := 0; i < 3; i++ {
		m, err := datalayer.New(ctx, cfg)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return primaryIs(ctx, m, live.Addr())
		}, 20*time.Second, 20*time.Millisecond, "the live node becomes the primary")
		// Let any late probe land before reading the counter.
		time.Sleep(200 * time.Millisecond)
		info, err := m.ConnectionInfo(ctx)
		require.NoError(t, err)
		assert.Zero(t, info.FailoversTotal, "restart %d", i)
		assert.NoError(t, testutil.CollectAndCompare(NewCollector(m), strings.NewReader(`
# HELP unifieddb_failovers_total Changes of primary after the previous one was lost or demoted.
# TYPE unifieddb_failovers_total counter
unifieddb_failovers_total 0
`), "unifieddb_failovers_total"), "restart %d", i)
		require.NoError(t, m.Close())
	}

	// The control: a primary that answered and was then lost, with another
	// node promoted, is one failover.
	cfg.Host, cfg.Port = live.Host(), live.Port()
	cfg.ReplicaHosts = []string{replica.Addr()}
	m, err := datalayer.New(ctx, cfg)
	require.NoError(t, err)
	defer m.Close()
	require.Eventually(t, func() bool { return primaryIs(ctx, m, live.Addr()) }, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, live.Kill())
	require.NoError(t, replica.Promote(ctx))
	require.Eventually(t, func() bool {
		info, err := m.ConnectionInfo(ctx)
		return err == nil && info.FailoversTotal == 1
	}, 30*time.Second, 20*time.Millisecond, "a real failover is counted")
}

// primaryIs reports whether the health report names addr as the primary.
func primaryIs(ctx context.Context, m *datalayer.Manager, addr string) bool {
	r, err := m.HealthCheck(ctx)
	if err != nil {
		return false
	}
	for _, n := range r.Nodes {
		if n.Role == "primary" && net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) == addr {
			return true
		}
	}
	return false
}
