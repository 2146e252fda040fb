//go:build linux

package patronitest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

const orphanEnv = "PATRONITEST_ORPHAN_CHILD"

// A test process killed with SIGKILL (no Close) leaves nothing running:
// Patroni dies with it (Pdeathsig) and the guard kills the detached
// postmasters and removes the directory.
func TestKilledOwnerLeavesNothingPatroni(t *testing.T) {
	if os.Getenv(orphanEnv) == "1" {
		orphanChild()
		return
	}
	patronitest.Require(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledOwnerLeavesNothingPatroni$")
	cmd.Env = append(os.Environ(), orphanEnv+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	var dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "DIR "); ok {
			dir = d
			break
		}
	}
	require.NotEmpty(t, dir, "the child started a cluster")
	require.NotEmpty(t, processesMentioning(t, dir), "the cluster runs")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	assert.Eventually(t, func() bool {
		_, err := os.Stat(dir)
		return len(processesMentioning(t, dir)) == 0 && os.IsNotExist(err)
	}, 30*time.Second, 100*time.Millisecond, "processes or directory of %s left behind", dir)
}

// orphanChild starts a cluster, prints its directory and waits to be killed.
func orphanChild() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := patronitest.Start(ctx, patronitest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("DIR " + c.Dir())
	<-ctx.Done()
}
