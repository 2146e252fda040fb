package tests

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/metrics"
)

// Two clusters behind one Manager: the health report, ConnectionInfo, the
// Prometheus metrics and the spans each show every cluster on its own, and
// a replica lost on one cluster is that cluster's problem only.
func TestClustersObservedEachOnItsOwn(t *testing.T) {
	cfg, events, defDB, evDB := twoClusters(t, 1, "mc_events")
	require.NoError(t, defDB.AutoMigrate(&mcUser{}))
	require.NoError(t, evDB.AutoMigrate(&mcEvent{}))
	waitReplicated(t, shared, shared.Nodes()[0])
	waitReplicated(t, events, events.Nodes()[0])

	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { assert.NoError(t, tp.Shutdown(context.Background())) }()
	var m *datalayer.Manager
	require.NoError(t, stmt(t, testCtx(t), "datalayer.New", func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, datalayer.WithTracerProvider(tp))
		return err
	}))
	t.Cleanup(func() { m.Close() })
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)
	require.NoError(t, m.WaitReady(ctx))

	// Spans: each statement names its cluster.
	exp.Reset()
	require.NoError(t, db.Create(&mcUser{Name: "ann"}).Error)
	require.NoError(t, db.Create(&mcEvent{Kind: "login"}).Error)
	byPort := map[int64]string{}
	for _, s := range exp.GetSpans() {
		if s.Name == "INSERT" {
			a := attrs(s)
			byPort[a["server.port"].AsInt64()] = a["unifieddb.cluster"].AsString()
		}
	}
	assert.Equal(t, map[int64]string{
		int64(shared.Nodes()[0].Port()): "default",
		int64(events.Nodes()[0].Port()): "events",
	}, byPort)

	// The health report: the default cluster where it always was, events
	// in its own section.
	names := func(c *pgcluster.Cluster) []string {
		var out []string
		for _, n := range c.Nodes() {
			out = append(out, n.Addr())
		}
		return out
	}
	nodeNames := func(r datalayer.HealthReport) []string {
		var out []string
		for _, n := range r.Nodes {
			out = append(out, n.Name)
		}
		return out
	}
	rep, err := m.HealthCheck(ctx, datalayer.Fresh())
	require.NoError(t, err)
	assert.Equal(t, datalayer.StatusHealthy, rep.Status, rep.Problems)
	assert.ElementsMatch(t, names(shared), nodeNames(rep))
	assert.Equal(t, shared.Nodes()[0].Addr(), rep.Primary)
	require.Contains(t, rep.Clusters, "events")
	er := rep.Clusters["events"]
	assert.Equal(t, datalayer.StatusHealthy, er.Status, er.Problems)
	assert.ElementsMatch(t, names(events), nodeNames(er))
	assert.Equal(t, events.Nodes()[0].Addr(), er.Primary)
	assert.Equal(t, cfg.Clusters["events"].ConnectionBudget(), er.ConnectionBudget)
	data, err := json.Marshal(rep)
	require.NoError(t, err)
	var doc struct {
		Clusters map[string]struct {
			Primary string `json:"primary"`
		} `json:"clusters"`
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	assert.Equal(t, events.Nodes()[0].Addr(), doc.Clusters["events"].Primary)

	// ConnectionInfo: the events statement counted on the events primary.
	ci, err := m.ConnectionInfo(ctx)
	require.NoError(t, err)
	require.Contains(t, ci.Clusters, "events")
	var evQueries int64
	for _, n := range ci.Clusters["events"].Nodes {
		if n.Name == events.Nodes()[0].Addr() {
			evQueries = n.Queries
		}
	}
	assert.GreaterOrEqual(t, evQueries, int64(1))
	assert.GreaterOrEqual(t, ci.Clusters["events"].QueriesTotal, int64(1))

	// A name no cluster has is an error, not an empty snapshot.
	_, err = m.Plugin().StatusOf("nope")
	assert.ErrorIs(t, err, datalayer.ErrUnknownCluster)
	_, err = m.Plugin().MetricsOf("nope")
	assert.ErrorIs(t, err, datalayer.ErrUnknownCluster)

	// Metrics: one node_up per node of both clusters, labelled.
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(metrics.NewCollector(m)))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	upBy := map[string]string{}
	for _, mf := range mfs {
		if mf.GetName() != "unifieddb_node_up" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range mt.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			upBy[l["node"]] = l["cluster"]
		}
	}
	want := map[string]string{}
	for _, n := range names(shared) {
		want[n] = "default"
	}
	for _, n := range names(events) {
		want[n] = "events"
	}
	assert.Equal(t, want, upBy)

	// Lose the events replica: the events section and the overall status
	// say so; the default cluster's section stays healthy.
	lost := events.Nodes()[1]
	require.NoError(t, lost.Kill())
	require.Eventually(t, func() bool {
		rep, err = m.HealthCheck(ctx, datalayer.Fresh())
		return err == nil && rep.Clusters["events"].Status != datalayer.StatusHealthy
	}, 30*time.Second, 200*time.Millisecond)
	assert.Equal(t, datalayer.StatusDegraded, rep.Status)
	assert.Equal(t, datalayer.StatusDegraded, rep.Clusters["events"].Status)
	found := false
	for _, p := range rep.Problems {
		if strings.HasPrefix(p, "cluster events: node "+lost.Addr()) {
			found = true
		}
		assert.NotContains(t, p, cfg.Clusters["events"].Password)
	}
	assert.True(t, found, "problems: %v", rep.Problems)
	for _, n := range rep.Nodes {
		assert.True(t, n.Healthy, "default node %s", n.Name)
		assert.NotEqual(t, strconv.Itoa(lost.Port()), strconv.Itoa(n.Port))
	}
}
