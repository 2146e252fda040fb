package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/migrations"
)

// migrateTarget is one cluster `migrate` works on. With one cluster its
// prefix and label are empty, so the output is what it was before clusters.
type migrateTarget struct {
	name   string // the cluster's name
	prefix string // "cluster NAME: " before each line, with several clusters
	label  string // Result.Cluster of its results: its name, with several clusters
	dir    string // its migrations_dir
	direct bool   // it has a migration_host: status and down need no primary
}

// migrateTargets are the clusters of cfg that `migrate ACTION` works on:
// only's (its --cluster), else every cluster for up and status, the default
// cluster for down. An unknown only is an error naming the clusters there
// are.
func migrateTargets(cfg datalayer.Config, action, only string) ([]migrateTarget, error) {
	names := append([]string{datalayer.DefaultCluster}, cfg.ClusterNames()...)
	switch {
	case only != "":
		if _, ok := cfg.Clusters[only]; !ok && only != datalayer.DefaultCluster {
			return nil, fmt.Errorf("--cluster %q: %w (the configuration's clusters: %s)",
				only, datalayer.ErrUnknownCluster, strings.Join(names, ", "))
		}
		names = []string{only}
	case action == "down":
		names = names[:1]
	}
	out := make([]migrateTarget, 0, len(names))
	for _, name := range names {
		c := cfg
		if name != datalayer.DefaultCluster {
			c = cfg.Clusters[name]
		}
		t := migrateTarget{name: name, dir: c.MigrationsDir, direct: c.MigrationHost != ""}
		if len(cfg.Clusters) > 0 {
			t.prefix, t.label = "cluster "+name+": ", name
		}
		out = append(out, t)
	}
	return out, nil
}

// noMigrations says why a cluster has no SQL migration: none is handed.
func (t migrateTarget) noMigrations() string {
	if t.name == datalayer.DefaultCluster {
		return noMigrations
	}
	return "no SQL migrations: set clusters." + t.name + ".migrations_dir (a directory of NNNNN_name.sql files) in the configuration"
}

// needPrimary reports whether the action on these clusters runs on a
// primary the Manager must find first: up always, status and down unless
// every cluster has a migration_host.
func needPrimary(action string, targets []migrateTarget) bool {
	for _, t := range targets {
		if !t.direct {
			return true
		}
	}
	return action == "up"
}

// printApplied prints what up applied on each target, from res (all the
// targets' results, each labelled with its cluster); err is up's error,
// after which nothing is said to be up to date.
func printApplied(w io.Writer, targets []migrateTarget, res []migrations.Result, err error) {
	for _, t := range targets {
		n := 0
		for _, r := range res {
			if r.Cluster == t.label {
				n++
				fmt.Fprintf(w, "%sapplied %s (%s)\n", t.prefix, r.Source, r.Duration.Round(time.Millisecond))
			}
		}
		switch {
		case err == nil && t.dir == "":
			fmt.Fprintln(w, t.prefix+t.noMigrations())
		case err == nil && n == 0:
			fmt.Fprintln(w, t.prefix+"SQL migrations: nothing to apply")
		}
	}
}
