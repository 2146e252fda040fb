package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// TestDoctorInstancesBudget: against a server with max_connections 30 and
// 3 superuser-reserved, one instance of the small pools below needs
// (2+1)*2 + 1 + 1 + 1 probe = 9 per node: 27 usable hold 3 instances, not
// 4; --instances says so and fails the run; health prints the budget.
func TestDoctorInstancesBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{
		"max_connections": "30", "superuser_reserved_connections": "3"}})
	require.NoError(t, err)
	defer c.Close()
	cfg := liveConfig(t, c, func(cfg *datalayer.Config) {
		cfg.PoolSize, cfg.MaxOverflow, cfg.BatchPoolSize, cfg.TransactionalPoolSize = 2, 1, 1, 1
	})

	code, stdout, stderr := runCmd(t, "doctor", "--config", cfg, "--instances", "3")
	t.Log("\n" + stdout)
	assert.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.Regexp(t, `(?m)^ok    connections +one instance needs up to 9 per node \(\(2\+1\)\*2 \+ 1 \+ 1 \+ 1 probe\); max_connections 30, 27 usable \(3 superuser_reserved, 0 reserved\), \d+ in use now; 3 instance\(s\) fit: 3 instances need 27 per node$`, stdout)

	code, stdout, _ = runCmd(t, "doctor", "--config", cfg, "--instances", "4")
	assert.Equal(t, exitFail, code)
	assert.Regexp(t, `(?m)^fail  connections +one instance needs up to 9 per node .* 3 instance\(s\) fit: 4 instances need 36 per node, 9 over$`, stdout)

	// Without --instances: 3 fit, fewer than 4: a warning.
	code, stdout, _ = runCmd(t, "doctor", "--config", cfg)
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `(?m)^warn  connections +.* 3 instance\(s\) fit: 4 instances would need 36$`, stdout)

	code, _, stderr = runCmd(t, "doctor", "--config", cfg, "--instances", "-1")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--instances")

	code, stdout, _ = runCmd(t, "health", "--config", cfg)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "connection budget: up to 9 per node for this instance (write 3, read 3, batch 1, transactional 1, probe 1)")
}
