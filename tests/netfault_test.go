package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/faultproxy"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// Faults from outside the process (issue 10): the Manager reaches every node
// through an internal/faultproxy, and the tests break the network, not the
// servers.

// behindProxies starts a proxy in front of every node of c, closed at
// cleanup, and returns them by node name with the config change that sends
// the Manager through them.
func behindProxies(t *testing.T, c *pgcluster.Cluster) (map[string]*faultproxy.Proxy, func(*datalayer.Config)) {
	t.Helper()
	proxies := map[string]*faultproxy.Proxy{}
	var addrs []*faultproxy.Proxy
	for _, n := range c.Nodes() {
		p, err := faultproxy.Start(n.Addr())
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		proxies[n.Name()] = p
		addrs = append(addrs, p)
	}
	return proxies, func(cfg *datalayer.Config) {
		cfg.Host, cfg.Port = addrs[0].Host(), addrs[0].Port()
		cfg.ReplicaHosts = nil
		for _, p := range addrs[1:] {
			cfg.ReplicaHosts = append(cfg.ReplicaHosts, p.Addr())
		}
	}
}

// nodeStatus is the Manager's view of the node it reaches at addr.
func nodeStatus(m *datalayer.Manager, addr string) (healthy, inRotation bool) {
	for _, n := range m.Plugin().Status().Nodes {
		if n.Name == addr {
			return n.Healthy, n.InRotation
		}
	}
	return false, false
}

// A replica whose link goes silent (packets dropped, no RST: half-open) is
// the hung replica of TestHungReplicaFailsNoReadAndStallsNone seen from the
// network: no read fails and the replica leaves rotation.
func TestBlackholedReplicaLinkFailsNoRead(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	proxies, via := behindProxies(t, c)
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		via(cfg)
	})
	seedItems(t, c, m, 50)
	replica, link := c.Node("replica1"), proxies["replica1"]

	l := startLoad(t, ctx, 8, 5*time.Millisecond, readOp(m, 50))
	time.Sleep(500 * time.Millisecond)
	link.Blackhole(true)
	blackholed := time.Now()
	require.Eventually(t, func() bool {
		_, in := nodeStatus(m, link.Addr())
		return !in
	}, 10*time.Second, 20*time.Millisecond, "the blackholed replica stays in rotation")
	t.Logf("left rotation %s after the blackhole", time.Since(blackholed).Round(time.Millisecond))
	time.Sleep(5 * time.Second)
	link.Blackhole(false)
	servesReads(t, m, replica, 10*time.Second)
	rs := l.Stop()

	assertHistory(t, "replica link blackholed (half-open), 5 s", readHistory(rs))
	assert.Greater(t, len(rs), 500, "steady load")
	assert.Empty(t, failures(rs), "no read fails while a replica's link is blackholed")
	// A read stuck on the silent replica is freed by the stall watcher
	// within about stallAfter + stallProbeTimeout (0.65 s), also when a
	// scheduled probe was in flight as the link went silent: that probe is
	// cut short rather than left to run its connection_timeout (2 s).
	limit := m.Config().ConnectionTimeout
	var slowest time.Duration
	for _, r := range rs {
		slowest = max(slowest, r.End.Sub(r.Start))
	}
	t.Logf("%d reads, slowest %s (limit %s)", len(rs), slowest, limit)
	assert.Less(t, slowest, limit, "a read on the black-holed replica waited for a probe's whole timeout")
}

// haBlob rows make results large enough to cut in the middle.
type haBlob struct {
	ID  uint `gorm:"primaryKey"`
	Pad string
}

const blobRows = 2000

// resetSetup opens a Manager through proxies, without probe connections (so
// every connection a proxy carries is a statement's, and a cut is sure to
// hit it), with blobRows rows of 100 bytes on every node.
func resetSetup(t *testing.T) (*datalayer.Manager, map[string]*faultproxy.Proxy) {
	c := startCluster(t, pgcluster.DefaultOptions())
	proxies, via := behindProxies(t, c)
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		via(cfg)
		cfg.EnableHealthChecks = false
	})
	seedBlobs(t, c, m)
	return m, proxies
}

// seedBlobs creates blobRows rows of 100 bytes and waits until every
// replica has them.
func seedBlobs(t *testing.T, c *pgcluster.Cluster, m *datalayer.Manager) {
	ctx := testCtx(t)
	require.NoError(t, migrate(t, ctx, m, &haBlob{}))
	seed := make([]haBlob, blobRows)
	for i := range seed {
		seed[i].Pad = strings.Repeat("x", 100)
	}
	require.NoError(t, stmt(t, ctx, "seed haBlob", func(ctx context.Context) error {
		return m.Conn(ctx, datalayer.ReadWrite).Create(&seed).Error
	}))
	waitReplicated(t, c, c.Node("primary"))
}

// checkResetRead cuts the replies of every open replica connection after
// cut bytes and checks that a read of every row is retried and complete.
func checkResetRead(t *testing.T, m *datalayer.Manager, proxies map[string]*faultproxy.Proxy, cut int64) {
	ctx := testCtx(t)
	readAll := func() ([]haBlob, error) {
		var got []haBlob
		err := stmt(t, ctx, "read every haBlob", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Find(&got).Error
		})
		return got, err
	}
	// Open a read connection to each replica first.
	for range 4 {
		_, err := readAll()
		require.NoError(t, err)
	}
	links := []*faultproxy.Proxy{proxies["replica1"], proxies["replica2"]}
	for _, p := range links {
		p.CutRepliesAfter(cut)
	}
	got, err := readAll()
	assert.NoError(t, err, "a read whose connection is reset is retried")
	assert.Len(t, got, blobRows)
	resets := 0
	for _, p := range links {
		resets += p.Resets()
	}
	assert.Positive(t, resets, "the read's connection was reset")
}

// checkResetWrite cuts the replies of the primary's open connections after
// cut bytes during an insert of rows rows (GORM reads their ids back with
// RETURNING): ErrOutcomeUnknown, and the rows are there all or not at all,
// never twice.
func checkResetWrite(t *testing.T, m *datalayer.Manager, proxies map[string]*faultproxy.Proxy, cut int64, rows int) {
	ctx := testCtx(t)
	// The same insert once first, so that the cut connection has the
	// statement prepared: the cut then falls in the rows it returns, not in
	// the reply to the statement's preparation.
	warm := make([]haBlob, rows)
	for i := range warm {
		warm[i].Pad = "warm"
	}
	require.NoError(t, stmt(t, ctx, "open the write connection", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&warm).Error
	}))
	tag := fmt.Sprintf("cut-%d-%d", cut, rows)
	batch := make([]haBlob, rows)
	for i := range batch {
		batch[i].Pad = tag
	}
	before := proxies["primary"].Resets()
	proxies["primary"].CutRepliesAfter(cut)
	err := stmt(t, ctx, "insert", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&batch).Error
	})
	assert.ErrorIs(t, err, datalayer.ErrOutcomeUnknown, "a write whose reply is lost may have run")
	assert.Greater(t, proxies["primary"].Resets(), before, "the write's connection was reset")
	var n int64
	require.NoError(t, stmt(t, ctx, "count the rows", func(ctx context.Context) error {
		return m.Conn(ctx, datalayer.ReadWrite).Model(&haBlob{}).Where("pad = ?", tag).Count(&n).Error
	}))
	assert.Contains(t, []int64{0, int64(rows)}, n, "the rows are there all or not at all, never twice")
}

// A connection reset before the first reply byte (the reply is lost after
// the server ran the statement): a read is retried, a one-row write is
// ErrOutcomeUnknown and never retried.
func TestConnectionResetBeforeTheReply(t *testing.T) {
	m, proxies := resetSetup(t)
	checkResetRead(t, m, proxies, 0)
	checkResetWrite(t, m, proxies, 0, 1)
}

// A connection reset in the middle of a result (4 KiB into ~250 KB), and
// before the reply of a large write.
func TestConnectionResetMidResult(t *testing.T) {
	m, proxies := resetSetup(t)
	checkResetRead(t, m, proxies, 4<<10)
	checkResetWrite(t, m, proxies, 0, blobRows)
	checkResetWrite(t, m, proxies, 4<<10, blobRows)
}

// 200 ms of added latency on the replica that serves reads: least_latency
// moves reads to the other one, and read-your-writes stays exact.
func TestLatencyMovesLeastLatencyReadsAway(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.DefaultOptions())
	proxies, via := behindProxies(t, c)
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		via(cfg)
		cfg.ReplicaPolicy = "least_latency"
	})
	seedItems(t, c, m, 10)

	slowPort := servedByModelRead(t, m.DB().WithContext(ctx), &haItem{})
	slow, fast := c.Node("replica1"), c.Node("replica2")
	if slowPort == fast.Port() {
		slow, fast = fast, slow
	}
	require.Equal(t, slow.Port(), slowPort, "a replica serves reads")
	proxies[slow.Name()].SetLatency(200 * time.Millisecond)

	require.Eventually(t, func() bool {
		for range 20 {
			if servedByModelRead(t, m.DB().WithContext(ctx), &haItem{}) != fast.Port() {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "reads stay on the replica 200 ms away")

	// Read-your-writes stays exact: 4 contexts write and read back for 2 s.
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	readers := newRYWReaders(m, 4)
	load := startLoad(t, ctx, len(readers.ctxs), 10*time.Millisecond, readers.op)
	time.Sleep(2 * time.Second)
	load.Stop()
	h := readers.history(history{}, writesOn(t, c.Node("primary")))
	assertHistory(t, "200 ms added latency on one replica (least_latency)", h)
	var slowRead, slowWrite time.Duration
	for _, r := range readers.reads {
		slowRead = max(slowRead, r.end.Sub(r.start))
	}
	for _, w := range readers.writes {
		slowWrite = max(slowWrite, w.End.Sub(w.Start))
	}
	t.Logf("slowest read-your-writes read %s, slowest write %s", slowRead.Round(time.Millisecond), slowWrite.Round(time.Millisecond))
	// A read-your-writes read waits read_your_writes_timeout (100 ms) for a
	// replica, then reads the primary: the slow replica must not hold it
	// (it did, 1.7-2.1 s, while its replay position was asked of it).
	assert.Less(t, slowRead, time.Second, "a read-your-writes read waited on the slow replica")
	assert.Zero(t, h.readsFailed+h.ops-h.acked, "no read or write fails")
	assert.Greater(t, h.reads, 20, "steady load")
}
