package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// cluster is the package's local PostgreSQL: a primary and two replicas.
var cluster *pgcluster.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, pgcluster.DefaultOptions())
	if err == nil {
		err = syncApply(ctx, c)
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "userservice tests: starting the local cluster:", err)
		if c != nil {
			_ = c.Close()
		}
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "userservice tests: stopping the cluster:", err)
	}
	os.Exit(code)
}

// syncApply makes every commit wait until both replicas have applied it, so
// that a GET (a replica read) right after a POST sees the new user.
func syncApply(ctx context.Context, c *pgcluster.Cluster) error {
	primary := c.Nodes()[0]
	var names []string
	for _, n := range c.Nodes()[1:] {
		names = append(names, n.Name())
	}
	for _, q := range []string{
		fmt.Sprintf("ALTER SYSTEM SET synchronous_standby_names = 'FIRST %d (%s)'", len(names), strings.Join(names, ", ")),
		"ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
		"SELECT pg_reload_conf()",
	} {
		if err := primary.Exec(ctx, q); err != nil {
			return err
		}
	}
	for {
		n, err := primary.QueryInt(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")
		if err != nil {
			return err
		}
		if int(n) == len(names) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replicas never became synchronous: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
