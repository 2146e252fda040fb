package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// fakePatroni serves GET /cluster in Patroni's format with the members the
// test sets: the network seam of discovery, in front of real PostgreSQL.
type fakePatroni struct {
	mu      sync.Mutex
	members []map[string]any
	broken  bool // answers 503
}

func (f *fakePatroni) set(leader *pgcluster.Node, replicas ...*pgcluster.Node) {
	ms := []map[string]any{{"name": leader.Name(), "role": "leader", "state": "running", "host": "127.0.0.1", "port": leader.Port(), "timeline": 1}}
	for _, r := range replicas {
		ms = append(ms, map[string]any{"name": r.Name(), "role": "replica", "state": "streaming", "host": "127.0.0.1", "port": r.Port(), "lag": 0})
	}
	f.mu.Lock()
	f.members = ms
	f.mu.Unlock()
}

func (f *fakePatroni) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/cluster" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		http.Error(w, "no leader", http.StatusServiceUnavailable)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"members": f.members, "scope": "test"})
}

// sessionsOf counts the sessions of application name app on n.
func sessionsOf(t *testing.T, ctx context.Context, n *pgcluster.Node, app string) int64 {
	t.Helper()
	var k int64
	require.NoError(t, stmt(t, ctx, "count sessions on "+n.Name(), func(ctx context.Context) (err error) {
		k, err = n.QueryInt(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app)
		return err
	}))
	return k
}

// A replica added to the discovered list at run time starts serving reads;
// one removed stops, its statements and transactions in flight end normally,
// and its pools close. A steady read load sees no error throughout.
func TestDiscoveryAddsAndRemovesReplicasAtRunTime(t *testing.T) {
	ctx := testCtx(t)
	before := goleak.IgnoreCurrent()
	primary, r1, r2 := shared.Node("primary"), shared.Node("replica1"), shared.Node("replica2")
	src := &fakePatroni{}
	src.set(primary, r1)
	srv := httptest.NewServer(src)
	t.Cleanup(srv.Close)

	const app = "unifieddb-discovery-test"
	m := newManager(t, shared, func(c *datalayer.Config) {
		c.Discovery, c.PatroniURLs, c.DiscoveryInterval = datalayer.DiscoveryPatroni, []string{srv.URL}, 100*time.Millisecond
		c.ApplicationName = app
		c.HealthCheckInterval = 200 * time.Millisecond
		c.MaxReplicationLag = 0 // the shared cluster's replicas may lag behind other tests' writes
	})
	names := func() []string {
		var out []string
		for _, n := range m.Plugin().Status().Nodes {
			out = append(out, n.Name)
		}
		return out
	}
	require.Equal(t, []string{primary.Addr(), r1.Addr()}, names(), "the list comes from the source, not replica_hosts")

	var mu sync.Mutex
	served := map[int]int{}
	reads := startLoad(t, ctx, 4, 5*time.Millisecond, func(ctx context.Context, _, _ int) error {
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
	require.Eventually(t, func() bool { return servedBy(r1.Port()) > 20 }, 20*time.Second, 20*time.Millisecond)
	assert.Zero(t, servedBy(r2.Port()), "replica2 is not in the discovered list")

	// Added: replica2 serves reads without a restart.
	added := time.Now()
	src.set(primary, r1, r2)
	require.Eventually(t, func() bool { return servedBy(r2.Port()) > 20 }, 20*time.Second, 20*time.Millisecond,
		"replica2 serves reads once discovered")
	t.Logf("replica2 served its 20th read %s after it was listed", time.Since(added).Round(time.Millisecond))
	assert.Equal(t, []string{primary.Addr(), r1.Addr(), r2.Addr()}, names())

	// In flight on replica1 when it is removed: slow reads, and a read-only
	// transaction that runs past the pools' close.
	var tx *gorm.DB
	for i := 0; tx == nil && i < 50; i++ {
		gtx := m.Conn(ctx, datalayer.ReadOnly).Begin()
		require.NoError(t, gtx.Error)
		var port int
		require.NoError(t, gtx.Raw("SELECT inet_server_port()").Scan(&port).Error)
		if port == r1.Port() {
			tx = gtx
			continue
		}
		require.NoError(t, gtx.Rollback().Error)
	}
	require.NotNil(t, tx, "no read-only transaction landed on replica1")
	const maxSlow = 20
	slow := make(chan int, maxSlow)
	slowErrs := make(chan error, maxSlow)
	launched := 0
	for launched < maxSlow {
		for range 2 {
			launched++
			go func() {
				var port int
				err := m.Conn(ctx, datalayer.ReadOnly).Raw("SELECT inet_server_port() FROM pg_sleep(2)").Scan(&port).Error
				slowErrs <- err
				slow <- port
			}()
		}
		time.Sleep(50 * time.Millisecond)
		var running int64
		require.NoError(t, stmt(t, ctx, "slow reads on replica1", func(ctx context.Context) (err error) {
			running, err = r1.QueryInt(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep(2)%' AND state = 'active'", app)
			return err
		}))
		if running > 0 {
			break
		}
	}

	removed := time.Now()
	src.set(primary, r2)
	require.Eventually(t, func() bool { return len(names()) == 2 }, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, []string{primary.Addr(), r2.Addr()}, names())
	t.Logf("replica1 left the list %s after it was delisted", time.Since(removed).Round(time.Millisecond))
	atRemoval := servedBy(r1.Port())

	var slowOnR1 int
	for range launched {
		require.NoError(t, <-slowErrs, "a slow read in flight on a removed node ends normally")
		if <-slow == r1.Port() {
			slowOnR1++
		}
	}
	t.Logf("%d of %d slow reads were on replica1 when it was removed", slowOnR1, launched)
	assert.Positive(t, slowOnR1, "a slow read ran on replica1 across its removal")
	time.Sleep(1500 * time.Millisecond) // past the pools' close (retireGrace)
	var port int
	require.NoError(t, tx.Raw("SELECT inet_server_port()").Scan(&port).Error,
		"a transaction open on the removed node still runs")
	assert.Equal(t, r1.Port(), port)
	require.NoError(t, tx.Commit().Error)

	require.Eventually(t, func() bool { return sessionsOf(t, ctx, r1, app) == 0 }, 20*time.Second, 100*time.Millisecond,
		"the removed node's pools are closed")
	before2 := servedBy(r2.Port())
	require.Eventually(t, func() bool { return servedBy(r2.Port()) > before2+20 }, 20*time.Second, 20*time.Millisecond)
	results := reads.Stop()
	assert.LessOrEqual(t, servedBy(r1.Port())-atRemoval, 4, "at most the reads in flight at the removal end on replica1")
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			t.Logf("read %d/%d failed: %v", r.Worker, r.Seq, r.Err)
		}
	}
	assert.Zero(t, failed, "no read fails while nodes are added and removed")
	t.Logf("%d reads: %d on replica1, %d on replica2, %d on the primary, %d failed",
		len(results), servedBy(r1.Port()), servedBy(r2.Port()), servedBy(primary.Port()), failed)

	rep, err := m.HealthCheck(ctx)
	require.NoError(t, err)
	assert.Equal(t, "patroni "+srv.URL, rep.Discovery.Source)
	assert.Equal(t, int64(1), rep.Discovery.Added)
	assert.Equal(t, int64(1), rep.Discovery.Removed)
	assert.Empty(t, rep.Discovery.Error)
	assert.Equal(t, "leader", rep.Nodes[0].SourceRole)

	// The source fails: the list stays, the report says so.
	src.mu.Lock()
	src.broken = true
	src.mu.Unlock()
	require.Eventually(t, func() bool {
		rep, err = m.HealthCheck(ctx)
		return err == nil && rep.Discovery.Error != ""
	}, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, datalayer.StatusDegraded, rep.Status, fmt.Sprint(rep.Problems))
	assert.Len(t, rep.Nodes, 2)

	require.NoError(t, m.Close())
	goleak.VerifyNone(t, before, goleak.IgnoreAnyFunction("net/http/httptest.(*Server).goServe.func1"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"))
}
