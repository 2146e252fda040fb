package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// dbName keeps the database names safe to splice into CREATE DATABASE.
var dbName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// clusterCmd starts a throwaway local cluster (a primary, and replicas that
// apply every commit before it returns: synchronous_commit = remote_apply),
// creates the databases, writes for each database <out>/<db>.dsn (plain
// GORM's DSN, with the password: the files are 0600) and <out>/<db>.yaml (the
// Manager's configuration), then <out>/ready, and runs until SIGINT or
// SIGTERM, when it removes the cluster.
func clusterCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	replicas := fs.Int("replicas", 1, "number of synchronous replicas (0: a single node)")
	out := fs.String("out", "", "directory for the DSN and configuration files")
	var dbs, twoClusters stringList
	fs.Var(&dbs, "db", "a database to create (repeatable)")
	fs.Var(&twoClusters, "clusters-db", "a database whose configuration has a second cluster, \"other\" (the same nodes, database <db>_other, no table placed on it): every transaction then begins lazily (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || len(dbs) == 0 {
		return errors.New("cluster: -out and at least one -db are required")
	}
	for _, db := range append(dbs, twoClusters...) {
		if !dbName.MatchString(db) {
			return fmt.Errorf("cluster: bad database name %q", db)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := pgcluster.Options{
		Replicas:    *replicas,
		SyncReplica: *replicas > 0,
		Settings: map[string]string{
			"synchronous_commit": "remote_apply",
			// GORM's CI runs its PostgreSQL with TZ=Asia/Shanghai.
			"timezone": "Asia/Shanghai",
		},
		Logf: func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) },
	}
	if *replicas > 1 {
		return errors.New("cluster: at most one replica (the synchronous one)")
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	c, err := pgcluster.Start(sctx, opts)
	cancel()
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer c.Close()
	if err := writeClusterFiles(ctx, c, *out, dbs, false); err != nil {
		return err
	}
	if err := writeClusterFiles(ctx, c, *out, twoClusters, true); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "ready"), nil, 0o600); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// writeClusterFiles creates dbs and writes their files; with other, each
// configuration has a second cluster on database <db>_other.
func writeClusterFiles(ctx context.Context, c *pgcluster.Cluster, out string, dbs []string, other bool) error {
	primary := c.Nodes()[0]
	for _, db := range dbs {
		if err := primary.Exec(ctx, `CREATE DATABASE "`+db+`"`); err != nil {
			return fmt.Errorf("cluster: create database %s: %w", db, err)
		}
		if other {
			if err := primary.Exec(ctx, `CREATE DATABASE "`+db+`_other"`); err != nil {
				return fmt.Errorf("cluster: create database %s_other: %w", db, err)
			}
		}
		dsn := primary.DSN() + " dbname=" + db // a later dbname overrides the first
		if err := os.WriteFile(filepath.Join(out, db+".dsn"), []byte(dsn), 0o600); err != nil {
			return err
		}
		cfg := testenv.Config(c)
		cfg.Database = db
		if other {
			testenv.AddCluster(&cfg, "other", c, db+"_other")
		}
		y, err := cfg.MarshalYAML()
		if err != nil {
			return fmt.Errorf("cluster: configuration of %s: %w", db, err)
		}
		if err := os.WriteFile(filepath.Join(out, db+".yaml"), y, 0o600); err != nil {
			return err
		}
	}
	return nil
}
