package plugin

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// bareTestPlugin is a Plugin on a cluster of one node per name, no goroutine
// started and no failover machine yet. The nodes' pools point at a closed
// loopback port and are never used: nothing connects.
func bareTestPlugin(t testing.TB, names []string, opts Options, log *slog.Logger) (*Plugin, []*cluster.Node) {
	t.Helper()
	p := &Plugin{opts: opts, log: log}
	co := p.clusterOptions(&p.opts, &p.site)
	co.Connector = nil // the driver's own connections: nothing connects
	c, nodes := cluster.NewForTest(co, names)
	for _, n := range nodes {
		for _, pl := range n.Pools {
			pl.Local = &stmtCache{unprepared: opts.TransactionPooling}
		}
	}
	t.Cleanup(func() { closePools(nodes) })
	p.c = c
	p.setRoutes(&p.site, DefaultCluster, &p.opts)
	return p, nodes
}

func closePools(nodes []*cluster.Node) {
	for _, n := range nodes {
		for _, pl := range n.Pools {
			pl.DB.Close()
		}
	}
}

// testPlugin is a Plugin with nodes a, b, ..., every one a replica in
// service, no primary in the snapshot, no server.
func testPlugin(t testing.TB, n int) (*Plugin, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	names := make([]string, n)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	p, _ := bareTestPlugin(t, names, Options{EnableHA: true}, slog.New(slog.NewTextHandler(&buf, nil)))
	p.c.AllReplicasForTest()
	return p, &buf
}

// SQLSTATE codes the tests make errors of.
const (
	codeReadOnlyTransaction = "25006"
	codeAdminShutdown       = "57P01"
)
