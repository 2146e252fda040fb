package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// As root the servers run as the postgres OS user: a --dir under a 0700
// directory of root's (its home, t.TempDir()) fails at once, and the error
// tells a user of the CLI what to change: --dir, not pgcluster's BaseDir.
func TestDevUpDirThePostgresUserCannotEnter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the servers as the postgres OS user")
	}
	dir := filepath.Join(t.TempDir(), "db") // under 0700 directories of root's
	code, stdout, stderr := runCmd(t, "dev", "up", "--dir", dir)
	t.Logf("%s%s", stdout, stderr)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "cannot enter a parent of the cluster's directory: /tmp/")
	assert.Contains(t, stderr, "--dir")
	assert.NotContains(t, stderr, "BaseDir")
}
