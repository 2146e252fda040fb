package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// doctor names commits stalled on a synchronous standby frozen by SIGSTOP.
func TestDoctorNamesCommitsStalledOnTheSyncStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Replicas: 1, SyncReplica: true})
	require.NoError(t, err)
	defer c.Close()
	cfgPath := liveConfig(t, c, nil)
	primary, standby := c.Node("primary"), c.Node("replica1")
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE stalled (id int)"))

	code, stdout, _ := runCmd(t, "doctor", "--config", cfgPath)
	assert.Regexp(t, `(?m)^ok    commits +no commit waits on a synchronous standby`, stdout, "exit %d", code)

	require.NoError(t, standby.Pause())
	resumed := false
	defer func() {
		if !resumed {
			assert.NoError(t, standby.Resume())
		}
	}()
	done := make(chan error, 1)
	go func() {
		// Waits on the frozen standby until it resumes (or 60 s).
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		done <- primary.Exec(wctx, "INSERT INTO stalled VALUES (1)")
	}()
	want := regexp.MustCompile(`(?m)^fail  commits +1 commits waiting on synchronous standby on ` + regexp.QuoteMeta(primary.Addr()) + ` \(longest `)
	require.Eventually(t, func() bool {
		code, stdout, _ = runCmd(t, "doctor", "--config", cfgPath)
		return code == exitFail && want.MatchString(stdout)
	}, 30*time.Second, 200*time.Millisecond, "doctor names the stalled commit")
	t.Log("\n" + stdout)

	require.NoError(t, standby.Resume())
	resumed = true
	select {
	case err := <-done:
		assert.NoError(t, err, "the commit completes once the standby confirms it")
	case <-ctx.Done():
		t.Fatal("the commit never completed")
	}
}
