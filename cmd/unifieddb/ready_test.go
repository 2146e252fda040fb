package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// The live commands wait for a primary and print why there is none: at
// once, with the server's words, for a fault waiting cannot cure; after
// --wait, naming the node, for a refused connection.
func TestLiveCommandsSayWhyNoPrimary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	require.NoError(t, err)
	defer c.Close()
	pw := c.Password()

	t.Run("wrong password", func(t *testing.T) {
		wrong := liveConfig(t, c, func(cfg *datalayer.Config) {
			cfg.Password = "x" + pw
			cfg.FailoverTimeout = 30 * time.Second
		})
		for _, args := range [][]string{{"health"}, {"info"}, {"doctor"}, {"migrate", "up"}, {"migrate", "status"}} {
			start := time.Now()
			code, stdout, stderr := runCmd(t, append(args, "--config", wrong)...)
			took := time.Since(start)
			t.Logf("%v: %s\n%s%s", args, took, stdout, stderr)
			assert.Equal(t, exitFail, code, "%v", args)
			assert.Less(t, took, 5*time.Second, "%v: at once, not after --wait (10 s) or failover_timeout (30 s)", args)
			assert.Contains(t, stdout+stderr, "password authentication failed", "%v", args)
			assert.Contains(t, stdout+stderr, "SQLSTATE 28P01", "%v", args)
			assert.NotContains(t, stdout+stderr, pw, "%v", args)
		}

		// The doctor's roles line agrees with its ready line: writes fail
		// at once, not "after failover_timeout".
		code, stdout, stderr := runCmd(t, "doctor", "--config", wrong)
		assert.Equal(t, exitFail, code)
		var roles string
		for _, line := range strings.Split(stdout, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "roles" {
				roles = line
			}
		}
		require.NotEmpty(t, roles, "a roles line:\n%s%s", stdout, stderr)
		assert.NotContains(t, roles, "after failover_timeout")
		assert.Contains(t, roles, "at once")
	})

	t.Run("nothing listens", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := l.Addr().(*net.TCPAddr)
		l.Close()
		cfgPath := liveConfig(t, c, func(cfg *datalayer.Config) {
			cfg.Host, cfg.Port, cfg.ReplicaHosts = "127.0.0.1", dead.Port, nil
		})
		start := time.Now()
		code, stdout, stderr := runCmd(t, "health", "--wait", "1s", "--config", cfgPath)
		took := time.Since(start)
		t.Logf("%s\n%s%s", took, stdout, stderr)
		assert.Equal(t, exitFail, code)
		assert.GreaterOrEqual(t, took, time.Second, "waits --wait")
		assert.Contains(t, stderr, "unifieddb health: unifieddb: no writable primary within 1s: node "+dead.String()+": ")
		assert.Contains(t, stderr, "connection refused")
	})
}
