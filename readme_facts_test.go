package unifieddb_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README says that `make test` installs pgbouncer and haproxy
// (scripts/ensure-proxies.sh) and that .ci/run installs patroni too
// (scripts/ensure-patroni.sh, through make test-patroni-scenarios).
func TestReadmeInstallFacts(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	deps := func(target string) string {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:(.*)$`).FindSubmatch(mk)
		require.NotNil(t, m, "no target %s", target)
		return string(m[1])
	}
	assert.Contains(t, deps("test"), "ensure-proxies")
	assert.Contains(t, string(mk), "scripts/ensure-proxies.sh")
	assert.Contains(t, deps("test-patroni-scenarios"), "ensure-patroni")
	assert.Contains(t, string(mk), "scripts/ensure-patroni.sh")

	ci, err := os.ReadFile(".ci/run")
	require.NoError(t, err)
	assert.Contains(t, string(ci), "make test\n")
	assert.Contains(t, string(ci), "make test-patroni-scenarios")

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, s := range []string{"scripts/ensure-proxies.sh", "scripts/ensure-patroni.sh", "`pgbouncer`", "`haproxy`", "`patroni`"} {
		assert.True(t, strings.Contains(string(readme), s), "README does not mention %s", s)
	}
}
