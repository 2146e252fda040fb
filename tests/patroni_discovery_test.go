//go:build linux

package tests

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

// Discovery from a real Patroni REST API: only node1 is configured; the
// Manager learns the other members from GET /cluster, drops a replica whose
// machine dies once Patroni's member key expires (ttl 10 s), and takes it
// back, serving reads, when it returns. Reads never fail.
func TestPatroniDiscoveryFollowsMembers(t *testing.T) {
	c := startPatroni(t, patronitest.Options{})
	ctx := testCtx(t)
	nodes := c.Nodes()
	cfg := patroniConfig(c)
	cfg.ReplicaHosts = nil // node1 only: the rest comes from Patroni
	cfg.Discovery, cfg.DiscoveryInterval = datalayer.DiscoveryPatroni, 200*time.Millisecond
	for _, n := range nodes {
		cfg.PatroniURLs = append(cfg.PatroniURLs, "http://"+net.JoinHostPort(n.Host, strconv.Itoa(n.RESTPort)))
	}
	cfg.MaxReplicationLag = 0
	var m *datalayer.Manager
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg)
		return err
	}))
	t.Cleanup(func() { m.Close() })

	leader, err := c.Leader(ctx)
	require.NoError(t, err)
	has := func(addr string) bool {
		for _, n := range m.Plugin().Status().Nodes {
			if n.Name == addr {
				return true
			}
		}
		return false
	}
	st := m.Plugin().Status()
	require.Len(t, st.Nodes, 3, "every member of GET /cluster")
	assert.Equal(t, leader.Addr(), st.Nodes[0].Name, "Patroni's leader first")
	assert.Equal(t, "leader", st.Nodes[0].SourceRole)
	require.Eventually(t, func() bool { return m.Plugin().Status().Primary == leader.Addr() }, 20*time.Second, 20*time.Millisecond)

	var mu sync.Mutex
	served := map[int]int{}
	reads := startLoad(t, ctx, 4, 10*time.Millisecond, func(ctx context.Context, _, _ int) error {
		var port int
		err := m.Conn(ctx, datalayer.ReadOnly).Raw("SELECT inet_server_port()").Scan(&port).Error
		if err == nil {
			mu.Lock()
			served[port]++
			mu.Unlock()
		}
		return err
	})
	servedBy := func(port int) int {
		mu.Lock()
		defer mu.Unlock()
		return served[port]
	}
	var victim *patronitest.Node
	for _, n := range nodes {
		if n != leader {
			victim = n
		}
	}
	require.Eventually(t, func() bool { return servedBy(victim.Port) > 10 }, 20*time.Second, 20*time.Millisecond)

	killed := time.Now()
	require.NoError(t, nodeOp(t, ctx, "kill "+victim.Name, func(context.Context) error { return c.KillNode(victim) }))
	require.Eventually(t, func() bool { return !has(victim.Addr()) }, 60*time.Second, 100*time.Millisecond,
		"the member leaves GET /cluster when its key expires, and the Manager's list")
	t.Logf("%s dropped %s after its machine died", victim.Name, time.Since(killed).Round(time.Millisecond))

	returned := time.Now()
	require.NoError(t, nodeOp(t, ctx, "start "+victim.Name, func(context.Context) error { return c.StartNode(victim) }))
	before := servedBy(victim.Port)
	require.Eventually(t, func() bool { return has(victim.Addr()) && servedBy(victim.Port) > before+10 }, 90*time.Second, 100*time.Millisecond,
		"the member is back in the list and serves reads")
	t.Logf("%s serves reads again %s after its Patroni started", victim.Name, time.Since(returned).Round(time.Millisecond))

	rs := reads.Stop()
	fails := failures(rs)
	for _, r := range fails {
		t.Logf("read %d/%d failed: %v", r.Worker, r.Seq, r.Err)
	}
	assert.Empty(t, fails, "no read fails")
	rep, err := m.HealthCheck(ctx)
	require.NoError(t, err)
	t.Logf("%d reads, %d failed; discovery %+v", len(rs), len(fails), rep.Discovery)
	assert.GreaterOrEqual(t, rep.Discovery.Removed, int64(1))
	assert.GreaterOrEqual(t, rep.Discovery.Added, int64(1), "the member back (those found at start are no addition)")
}
