package main

import (
	"context"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A build without VCS data (go run, a git worktree, -buildvcs=false, as
// this test binary) still names the revision of the checkout it was built
// from, instead of "devel" alone.
func TestVersionNamesTheCheckout(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not a git checkout, or no git:", err)
	}
	rev, _ := checkoutRevision(context.Background(), sourceDir())
	assert.Equal(t, strings.TrimSpace(string(head)), rev)

	bi, _ := debug.ReadBuildInfo()
	if strings.HasPrefix(versionFrom(version, bi), "unifieddb devel go") {
		assert.Contains(t, versionString(context.Background()), "unifieddb devel (checkout "+rev[:12])
	}

	rev, dirty := checkoutRevision(context.Background(), t.TempDir())
	assert.Empty(t, rev, "no checkout there")
	assert.False(t, dirty)
	rev, _ = checkoutRevision(context.Background(), "")
	assert.Empty(t, rev)
}

func TestShortRevision(t *testing.T) {
	require.Equal(t, "0123456789ab", shortRevision("0123456789abcdef", false))
	require.Equal(t, "0123456789ab+dirty", shortRevision("0123456789abcdef", true))
	require.Equal(t, "abc", shortRevision("abc", false))
}
