package main

import (
	"context"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// clusters runs each named cluster's checks (nodes, roles, commits, lag,
// connections, migrations) from its section of the health report; nothing
// with one cluster.
func (d *doctor) clusters(ctx context.Context, rep datalayer.HealthReport) {
	for _, name := range sortedKeys(rep.Clusters) {
		cr, cfg := rep.Clusters[name], d.s.cfg.Clusters[name]
		prefix := "cluster " + name + ": "
		d.nodes(prefix, cfg, cr, nil)
		if cr.Primary == "" {
			d.add("fail", prefix+"connections", "no primary to read max_connections from")
			d.add("fail", prefix+"migrations", "no primary to check")
			continue
		}
		d.connections(ctx, prefix, cfg, datalayer.OnCluster(name))
		d.migrationsOn(ctx, prefix, name, cfg.MigrationsDir)
	}
}
