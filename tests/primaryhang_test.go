package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// A primary that stops answering (SIGSTOP, or its link blackholed: no RST,
// half-open) under steady writes: the writes in flight end within
// connection_timeout + 1 s as ErrOutcomeUnknown, writes not yet sent wait
// for a primary or fail with ErrNoPrimary, none hangs, and once the primary
// answers again writes succeed. The history check holds throughout.

// hangConfig is haConfig with a failover_timeout shorter than the hang, so
// that writes begun during it fail unsent with ErrNoPrimary.
func hangConfig(cfg *datalayer.Config) {
	haConfig(cfg)
	cfg.FailoverTimeout = 3 * time.Second
}

// primaryHangLoad runs writes on m, applies hang to its primary for hold,
// undoes it, and returns the writes with the times of the hang and undo.
func primaryHangLoad(t *testing.T, m *datalayer.Manager, hang, undo func(), hold time.Duration) (rs []loadgen.Result, hung, undone time.Time) {
	ctx := testCtx(t)
	require.NoError(t, migrate(t, ctx, m, &haWrite{}))
	l := startLoad(t, ctx, 8, 5*time.Millisecond, writeOp(m))
	time.Sleep(time.Second)
	hang()
	hung = time.Now()
	time.Sleep(hold)
	undo()
	undone = time.Now()
	// Writes succeed again once the primary answers (with no other primary,
	// the probe readmits it at its first answer).
	time.Sleep(3 * time.Second)
	return l.Stop(), hung, undone
}

// checkPrimaryHang checks the writes of primaryHangLoad; it returns a
// description of a route.go defect when one is measured (for t.Skip).
func checkPrimaryHang(t *testing.T, m *datalayer.Manager, primary *pgcluster.Node, fault string, rs []loadgen.Result, hung, undone time.Time) {
	t.Helper()
	cfg := m.Config()
	bound := cfg.ConnectionTimeout + time.Second
	var before, inFlight, waited, after, afterOK int
	var late []string
	var slowestInFlight time.Duration
	for _, r := range rs {
		took := r.End.Sub(r.Start)
		switch {
		case !r.End.After(hung):
			before++
			assert.NoError(t, r.Err, "write %d/%d before the hang", r.Worker, r.Seq)
		case r.Start.Before(hung):
			// In flight when the primary stopped answering: sent, it ends
			// within the bound as ErrOutcomeUnknown; not sent yet, it waits
			// for a primary like the writes begun during the hang.
			inFlight++
			after := r.End.Sub(hung)
			slowestInFlight = max(slowestInFlight, after)
			switch {
			case r.Err == nil || notSent(r.Err):
				assert.LessOrEqual(t, after, cfg.FailoverTimeout+bound, "write %d/%d in flight at the hang, not sent: %v", r.Worker, r.Seq, r.Err)
			case after > bound:
				late = append(late, fmt.Sprintf("%s (%v)", after.Round(time.Millisecond), r.Err))
			}
			if r.Err != nil {
				assert.True(t, errors.Is(r.Err, datalayer.ErrOutcomeUnknown) || notSent(r.Err),
					"write %d/%d in flight at the hang: want ErrOutcomeUnknown (or not sent), got %v", r.Worker, r.Seq, r.Err)
			}
		case r.Start.Before(undone):
			// Began during the hang: waits for a primary, at most
			// failover_timeout, plus one probe round.
			waited++
			assert.LessOrEqual(t, took, cfg.FailoverTimeout+bound, "write %d/%d began during the hang", r.Worker, r.Seq)
			if r.Err != nil {
				assert.True(t, errors.Is(r.Err, datalayer.ErrOutcomeUnknown) || notSent(r.Err),
					"write %d/%d began during the hang: want ErrNoPrimary or ErrOutcomeUnknown, got %v", r.Worker, r.Seq, r.Err)
			}
		default:
			after++
			if r.Err == nil {
				afterOK++
			}
			if r.Start.After(undone.Add(bound)) {
				assert.NoError(t, r.Err, "write %d/%d began %s after the primary answered again", r.Worker, r.Seq, r.Start.Sub(undone).Round(time.Millisecond))
			}
		}
	}
	t.Logf("%s: %d writes before the hang, %d in flight at it (the last ended %s after it; bound %s), %d began during it, %d after it (%d succeeded)",
		fault, before, inFlight, slowestInFlight.Round(time.Millisecond), bound, waited, after, afterOK)
	assert.Positive(t, afterOK, "writes succeed once the primary answers again")
	assert.Empty(t, late, "sent writes in flight at the hang that ended more than connection_timeout + 1s (%s) after it", bound)
	assertHistory(t, fault, checkHistory(rs, writesOn(t, primary)))
}

func TestPausedPrimaryEndsWritesInFlight(t *testing.T) {
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, hangConfig)
	primary := c.Node("primary")
	rs, hung, undone := primaryHangLoad(t, m,
		func() { require.NoError(t, primary.Pause()) },
		func() { require.NoError(t, primary.Resume()) },
		5*time.Second)
	checkPrimaryHang(t, m, primary, "SIGSTOP of the primary", rs, hung, undone)
}

func TestBlackholedPrimaryLinkEndsWritesInFlight(t *testing.T) {
	c := startCluster(t, pgcluster.DefaultOptions())
	proxies, via := behindProxies(t, c)
	m := newManager(t, c, func(cfg *datalayer.Config) {
		hangConfig(cfg)
		via(cfg)
	})
	link := proxies["primary"]
	rs, hung, undone := primaryHangLoad(t, m,
		func() { link.Blackhole(true) },
		func() { link.Blackhole(false) },
		5*time.Second)
	checkPrimaryHang(t, m, c.Node("primary"), "primary link blackholed", rs, hung, undone)
}

// The same with the default timeouts and probe interval (issue 10: bounds
// that hold with the defaults, not only with tuned settings).
func TestPausedPrimaryEndsWritesInFlightWithDefaults(t *testing.T) {
	c := startCluster(t, pgcluster.DefaultOptions())
	m := newManager(t, c, func(cfg *datalayer.Config) {
		d := datalayer.DefaultConfig()
		cfg.ConnectionTimeout, cfg.FailoverTimeout, cfg.HealthCheckInterval = d.ConnectionTimeout, d.FailoverTimeout, d.HealthCheckInterval
	})
	primary := c.Node("primary")
	rs, hung, undone := primaryHangLoad(t, m,
		func() { require.NoError(t, primary.Pause()) },
		func() { require.NoError(t, primary.Resume()) },
		8*time.Second)
	checkPrimaryHang(t, m, primary, "SIGSTOP of the primary, default settings", rs, hung, undone)
}
