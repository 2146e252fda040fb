package tests

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outsiderDir is a module of its own (tests/outsider/go.mod, replacing this
// module by ../..): an application with its own models and SQL migrations
// that imports no prompt-improver package. `go test ./...` and `go vet ./...`
// of this module skip it; this test runs it.
const outsiderDir = "outsider"

// TestOutsiderModule runs the outsider module's test against a fresh
// database of the shared cluster: Migrate creates only the outsider's tables
// and runs only its migrations (no users, prompts, improvement_sessions, no
// pgcrypto). The module compiles from the module cache (its go.sum is
// committed), so it works offline once the cache is warm.
func TestOutsiderModule(t *testing.T) {
	cfg := freshConfig(t)
	data, err := cfg.MarshalYAML()
	require.NoError(t, err)
	cfgPath := filepath.Join(t.TempDir(), "database.yaml")
	require.NoError(t, os.WriteFile(cfgPath, data, 0o600))

	// Generous: the first run compiles the library for the outsider.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	goCmd := func(args ...string) (string, error) {
		return goInModule(ctx, outsiderDir, []string{"UNIFIEDDB_OUTSIDER_CONFIG=" + cfgPath}, args...)
	}

	deps, err := goCmd("list", "-deps", "-test", ".")
	require.NoError(t, err, deps)
	assert.Contains(t, deps, "github.com/prompt-improver/unifieddb/datalayer\n")
	for _, app := range []string{"/models", "/promptimprover"} {
		assert.NotContains(t, deps, "github.com/prompt-improver/unifieddb"+app+"\n", "the outsider imports no application package")
	}

	out, err := goCmd("test", "-count=1", "-v", "-run", "TestMigrateCreatesOnlyTheApplicationsSchema", ".")
	require.NoError(t, err, out)
	assert.Contains(t, out, "--- PASS: TestMigrateCreatesOnlyTheApplicationsSchema", "it ran, not skipped:\n%s", out)
}
