package main

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

// With a wrong password the doctor's roles line agrees with its ready line:
// writes fail at once, not "after failover_timeout".
func TestDoctorRolesSaysWritesFailAtOnceForAPermanentFault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	require.NoError(t, err)
	defer c.Close()
	wrong := liveConfig(t, c, func(cfg *datalayer.Config) {
		cfg.Password = "x" + c.Password()
		cfg.FailoverTimeout = 30 * time.Second
	})
	code, stdout, stderr := runCmd(t, "doctor", "--config", wrong)
	t.Logf("%s%s", stdout, stderr)
	assert.Equal(t, exitFail, code)
	var roles string
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "roles" {
			roles = line
		}
	}
	require.NotEmpty(t, roles, "a roles line")
	assert.NotContains(t, roles, "after failover_timeout")
	assert.Contains(t, roles, "at once")
	assert.NotContains(t, stdout+stderr, c.Password())
}
