//go:build linux

package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/haproxytest"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
	"github.com/prompt-improver/unifieddb/plugin"
)

// startHAProxy puts HAProxy with Patroni's REST checks in front of c and
// waits until its primary port reaches the leader. It skips the test when
// HAProxy is not installed (scripts/ensure-proxies.sh installs it as root).
func startHAProxy(t *testing.T, c *patronitest.Cluster, keepSessions bool) *haproxytest.Proxy {
	t.Helper()
	return startHAProxyCtx(t, testCtx(t), c, keepSessions)
}

// startHAProxyCtx is startHAProxy under the caller's ctx (a test longer
// than testCtx's 2 minutes).
func startHAProxyCtx(t *testing.T, ctx context.Context, c *patronitest.Cluster, keepSessions bool) *haproxytest.Proxy {
	t.Helper()
	if _, err := haproxytest.Binary(); err != nil {
		t.Skipf("%v; this test needs HAProxy", err)
	}
	var servers []haproxytest.Server
	for _, n := range c.Nodes() {
		servers = append(servers, haproxytest.Server{Name: n.Name, Port: n.Port, RESTPort: n.RESTPort})
	}
	var p *haproxytest.Proxy
	require.NoError(t, nodeOp(t, ctx, "start haproxy", func(ctx context.Context) (err error) {
		p, err = haproxytest.Start(ctx, haproxytest.Options{Servers: servers, KeepSessions: keepSessions})
		return err
	}))
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("haproxy output:\n%s", p.Output())
		}
	})
	require.NoError(t, nodeOp(t, ctx, "haproxy reaches the leader", func(ctx context.Context) error {
		for {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			conn, err := pgx.Connect(cctx, proxyDSN(c, p.PrimaryPort))
			if err == nil {
				var inRecovery bool
				err = conn.QueryRow(cctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery)
				conn.Close(cctx)
				if err == nil && !inRecovery {
					cancel()
					return nil
				}
			}
			cancel()
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	return p
}

// proxyDSN is c's DSN on one of HAProxy's ports.
func proxyDSN(c *patronitest.Cluster, port int) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable connect_timeout=5",
		port, c.User(), c.Password(), c.Database())
}

// firstAckAfter is how long after at the first write was acknowledged
// (whenever it started: a write that waited through the switchover counts);
// -1 when none was.
func firstAckAfter(rs []loadgen.Result, at time.Time) time.Duration {
	first := time.Duration(-1)
	for _, r := range rs {
		if r.Err == nil && r.End.After(at) {
			if d := r.End.Sub(at); first < 0 || d < first {
				first = d
			}
		}
	}
	return first
}

// gormWriteOp is writeOp for plain GORM; its workers are numbered from
// gormWorkerBase so that both loads share ha_writes.
const gormWorkerBase = 100

func gormWriteOp(db *gorm.DB) func(ctx context.Context, w, seq int) error {
	return func(ctx context.Context, w, seq int) error {
		return db.WithContext(ctx).Create(&haWrite{Worker: gormWorkerBase + w, Seq: seq}).Error
	}
}

// HAProxy in front of Patroni (host = the /primary port, replica_hosts =
// the /replica port, enable_ha off: HAProxy says where the primary is), a
// `patronictl switchover` under write load from the Manager and, at the
// same time, from plain GORM on the /primary port. The Manager: no 25006
// reaches a caller, only writes in flight at the demotion fail (as
// ErrOutcomeUnknown), every acknowledged write is on the new leader once
// (synchronous_mode). Plain GORM's figures are logged for the README's
// comparison.
func TestPatroniHAProxySwitchover(t *testing.T) { haproxySwitchover(t, false) }

// The same without on-marked-down shutdown-sessions: connections HAProxy
// opened to the old leader while it was still marked up stay open to it,
// a standby now. The Manager must not write on them.
func TestPatroniHAProxySwitchoverKeepSessions(t *testing.T) { haproxySwitchover(t, true) }

func haproxySwitchover(t *testing.T, keepSessions bool) {
	c := startPatroni(t, patronitest.Options{SynchronousMode: true})
	px := startHAProxy(t, c, keepSessions)
	ctx := testCtx(t)

	cfg := patroniConfig(c)
	cfg.Host, cfg.Port = "127.0.0.1", px.PrimaryPort
	cfg.ReplicaHosts = []string{px.ReplicaAddr()}
	cfg.EnableHA = false
	var m *datalayer.Manager
	require.NoError(t, stmt(t, ctx, "datalayer.New", func(ctx context.Context) (err error) {
		// Timestamps in milliseconds, to set the Manager's view beside the
		// promotion's time.
		m, err = datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
		return err
	}))
	t.Cleanup(func() { m.Close() })
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))

	gdb, err := gorm.Open(postgres.Open(proxyDSN(c, px.PrimaryPort)), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	gsql, err := gdb.DB()
	require.NoError(t, err)
	t.Cleanup(func() { gsql.Close() })

	old, err := c.Leader(ctx)
	require.NoError(t, err)
	next := syncStandby(t, ctx, c)

	const workers = 4
	ml := startLoad(t, ctx, workers, 10*time.Millisecond, writeOp(m))
	gl := startLoad(t, ctx, workers, 10*time.Millisecond, gormWriteOp(gdb))
	time.Sleep(2 * time.Second)
	switching := time.Now()
	promotion := watchPromotion(t, c)
	out, err := c.Patronictl(ctx, "switchover", "--leader", old.Name, "--candidate", next.Name, "--force")
	require.NoError(t, err, out)
	require.NoError(t, nodeOp(t, ctx, "cluster healthy after the switchover", func(ctx context.Context) error {
		leader, err := c.WaitHealthy(ctx)
		if err == nil && leader != next {
			t.Errorf("%s leads, not %s", leader.Name, next.Name)
		}
		return err
	}))
	promoted, _ := promotion.stop()
	require.False(t, promoted.IsZero(), "%s never answered as a primary", next.Name)
	time.Sleep(3 * time.Second)
	mrs, grs := ml.Stop(), gl.Stop()
	for i := range grs {
		grs[i].Worker += gormWorkerBase
	}

	mine, theirs := splitWrites(patroniWritesOn(t, c, next))
	mh, gh := checkHistory(mrs, mine), checkHistory(grs, theirs)
	t.Logf("switchover %s -> %s began %s; promoted %s after (%s)", old.Name, next.Name, switching.Format("15:04:05.000"),
		promoted.Sub(switching).Round(time.Millisecond), promoted.Format("15:04:05.000"))
	report := func(who string, rs []loadgen.Result, h history) {
		var n25006 int
		for _, r := range failures(rs) {
			if plugin.SQLState(r.Err) == "25006" {
				n25006++
			}
		}
		t.Logf("haproxy switchover | %s | %d writes | %d failed (%d with 25006) | %d lost | %d duplicated | first ack %s after the promotion | longest gap %s",
			who, len(rs), len(failures(rs)), n25006, h.lost, h.duplicated,
			firstAckAfter(rs, promoted).Round(time.Millisecond), longestAckGap(rs))
		for i, r := range failures(rs) {
			if i == 5 {
				break
			}
			t.Logf("  %s failure: write %d/%d at +%s: %v", who, r.Worker, r.Seq, r.Start.Sub(switching).Round(time.Millisecond), r.Err)
		}
	}
	report("unifieddb", mrs, mh)
	report("plain GORM", grs, gh)

	for _, r := range failures(mrs) {
		assert.NotEqual(t, "25006", plugin.SQLState(r.Err), "25006 reached the caller: %v", r.Err)
		assert.True(t, errors.Is(r.Err, datalayer.ErrOutcomeUnknown), "write %d/%d started %s after the switchover began: %v",
			r.Worker, r.Seq, r.Start.Sub(switching), r.Err)
	}
	assert.LessOrEqual(t, len(failures(mrs)), workers, "only writes in flight at the demotion fail")
	assertHistory(t, "HAProxy switchover", mh)
	assert.Positive(t, firstAckAfter(mrs, promoted), "writes are acknowledged after the promotion")
}
