package main

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// TestDoctorServerVersionFinding: a primary older than PostgreSQL 14 gets a
// warning; 14 to 18 are fine.
func TestDoctorServerVersionFinding(t *testing.T) {
	for _, tc := range []struct {
		num     int
		version string
		status  string
	}{
		{90624, "9.6.24", "warn"},
		{130022, "13.22", "warn"},
		{139999, "13.99", "warn"},
		{140000, "14.0", "ok"},
		{140023, "14.23", "ok"},
		{150018, "15.18", "ok"},
		{180004, "18.4", "ok"},
	} {
		status, detail := serverFinding(tc.num, tc.version)
		assert.Equal(t, tc.status, status, tc.version)
		assert.Contains(t, detail, "PostgreSQL "+tc.version+" on the primary", tc.version)
		if status == "warn" {
			assert.Contains(t, detail, "older than 14", tc.version)
		}
	}
}

// TestDoctorServerVersion: doctor names the version of the server it runs
// against (whichever make test-versions chose) on its "server" line.
func TestDoctorServerVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	require.NoError(t, err)
	defer c.Close()
	num, err := c.Node("primary").QueryInt(ctx, "SELECT current_setting('server_version_num')::int")
	require.NoError(t, err)
	t.Logf("server_version_num %d", num)

	code, stdout, stderr := runCmd(t, "doctor", "--config", liveConfig(t, c, nil))
	t.Log("\n" + stdout)
	assert.NotEqual(t, exitUsage, code, stderr)
	major := num / 10000
	want := fmt.Sprintf(`(?m)^ok    server +PostgreSQL %d\.\d+( \(.*\))? on the primary \(tested: 14 to 18\)$`, major)
	assert.Regexp(t, regexp.MustCompile(want), stdout)
}
