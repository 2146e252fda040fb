package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/watchdog"
)

// The quick start promises to fail at start-up with the reason when nothing
// listens, as a statement would: after failover_timeout (2 s here), not when
// its one-minute context runs out.
func TestQuickStartNothingListeningFailsWithinFailoverTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close()) // refused from now on
	path := filepath.Join(t.TempDir(), "database.yaml")
	yaml := fmt.Sprintf("database:\n  host: 127.0.0.1\n  port: %d\n  database: app\n  sslmode: disable\n  failover_timeout: 2\n", port)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))

	bin := filepath.Join(t.TempDir(), "quickstart")
	out, err := exec.Command("go", "build", "-o", bin, "../../examples/quickstart").CombinedOutput()
	require.NoError(t, err, "%s", out)

	var took time.Duration
	require.NoError(t, watchdog.ForTest(t).Do(context.Background(), "quickstart", 2*time.Minute, func(ctx context.Context) error {
		start := time.Now()
		out, err = exec.CommandContext(ctx, bin, path).CombinedOutput()
		took = time.Since(start)
		return nil
	}))
	require.Error(t, err, "nothing listens: the program must fail\n%s", out)
	assert.Contains(t, string(out), "connection refused", "the error says why")
	// Generous: 2 s of failover_timeout on a loaded machine, far below the
	// minute the program's context allows.
	assert.Less(t, took, 40*time.Second, "the program waited for its context, not failover_timeout:\n%s", out)
}
