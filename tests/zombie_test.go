package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// A zombie primary (issue 10): the Manager's link to the primary is
// blackholed, a replica is promoted, and the link heals while the old
// primary still runs as a writable primary on the old timeline (nothing
// demoted it: it was only cut off). Writes must go to the newest timeline
// only, the report must say split brain, and every write acknowledged after
// the promotion must be on the new primary.
func TestZombiePrimaryGetsNoWriteAfterThePromotion(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{Replicas: 1})
	proxies, via := behindProxies(t, c)
	m := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		via(cfg)
	})
	zombie, next := c.Node("primary"), c.Node("replica1")
	link, nextAddr := proxies["primary"], proxies["replica1"].Addr()
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))

	l := startLoad(t, ctx, 8, 5*time.Millisecond, writeOp(m))
	time.Sleep(time.Second)
	link.Blackhole(true)
	require.Eventually(t, func() bool {
		healthy, _ := nodeStatus(m, link.Addr())
		return !healthy
	}, 10*time.Second, 20*time.Millisecond, "the Manager still takes the blackholed primary for up")
	// The replica has every write the primary acknowledged (replication does
	// not go through the proxy), as a careful failover would make sure.
	waitReplicatedTo(t, next, zombie)
	require.NoError(t, nodeOp(t, ctx, "promote replica1", next.Promote))
	promoted := time.Now()
	require.Eventually(t, func() bool { return m.Plugin().Status().Primary == nextAddr },
		10*time.Second, 20*time.Millisecond, "the Manager does not take the promoted replica for the primary")

	link.Blackhole(false)
	healed := time.Now()
	var rep datalayer.HealthReport
	splitBrain := assert.Eventually(t, func() bool {
		var err error
		rep, err = m.HealthCheck(ctx)
		return err == nil && rep.SplitBrain
	}, 10*time.Second, 20*time.Millisecond, "the report does not show the split brain")
	if splitBrain {
		t.Logf("split brain shown %s after the heal: %s: %s", time.Since(healed).Round(time.Millisecond), rep.Status, strings.Join(rep.Problems, "; "))
		assert.Equal(t, datalayer.StatusDegraded, rep.Status)
		assert.Equal(t, nextAddr, rep.Primary, "the report's primary is on the newest timeline")
	}
	// The zombie is a writable primary all along: a client reaching it
	// straight (not through the Manager) can still write to it.
	require.NoError(t, stmt(t, ctx, "write straight to the zombie", func(ctx context.Context) error {
		return zombie.Exec(ctx, "INSERT INTO ha_writes (worker, seq) VALUES (-1, 0)")
	}))
	// A Manager started during the split brain (a new instance of the
	// application) finds the newest timeline too, from its first write.
	fresh := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		via(cfg)
	})
	require.NoError(t, stmt(t, ctx, "first write of a fresh Manager", func(ctx context.Context) error {
		return fresh.DB().WithContext(ctx).Create(&haWrite{Worker: -2, Seq: 0}).Error
	}))
	time.Sleep(time.Second)
	rs := l.Stop()
	assert.Equal(t, nextAddr, m.Plugin().Status().Primary, "the primary in use after the heal")

	onNew, onZombie := writesOn(t, next), writesOn(t, zombie)
	assert.Equal(t, 1, onNew[[2]int{-2, 0}], "the fresh Manager's write is on the new primary")
	assert.Zero(t, onZombie[[2]int{-2, 0}], "the fresh Manager's write is on the zombie")
	var afterPromotion, afterHeal, onZombieOnly int
	for _, r := range rs {
		k := [2]int{r.Worker, r.Seq}
		if r.Err == nil && r.End.After(promoted) {
			afterPromotion++
			assert.Equal(t, 1, onNew[k], "write %d/%d acknowledged after the promotion is on the new primary", r.Worker, r.Seq)
		}
		if r.Start.After(promoted) {
			assert.Zero(t, onZombie[k], "write %d/%d began after the promotion yet is on the zombie (%v)", r.Worker, r.Seq, r.Err)
		}
		if r.Start.After(healed) {
			afterHeal++
		}
		if onZombie[k] > 0 && onNew[k] == 0 {
			// Sent before the blackhole and run by the zombie when the
			// link healed: its caller was told the outcome is unknown.
			onZombieOnly++
			assert.ErrorIs(t, r.Err, datalayer.ErrOutcomeUnknown, "write %d/%d is on the zombie only", r.Worker, r.Seq)
		}
	}
	t.Logf("%d writes acknowledged after the promotion, %d began after the heal, %d on the zombie only", afterPromotion, afterHeal, onZombieOnly)
	assert.Positive(t, afterHeal, "writes went on after the heal")
	assertHistory(t, "zombie primary: link blackholed, replica promoted, link healed", checkHistory(rs, onNew))
}
