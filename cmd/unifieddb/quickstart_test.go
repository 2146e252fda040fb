package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runQuickStart builds examples/quickstart, the README's quick start
// program, and runs it against the database.yaml at path, as a user would
// after `dev up`.
func runQuickStart(t *testing.T, path string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quickstart")
	out, err := exec.Command("go", "build", "-o", bin, "../../examples/quickstart").CombinedOutput()
	require.NoError(t, err, "%s", out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err = exec.CommandContext(ctx, bin, path).CombinedOutput()
	require.NoError(t, err, "the quick start program failed:\n%s", out)
	return string(out)
}

// The README shows examples/quickstart/main.go from its imports on, so the
// program a stranger copies is the one TestDevUpStatusDown runs.
func TestReadmeQuickStartIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	prog, err := os.ReadFile("../../examples/quickstart/main.go")
	require.NoError(t, err)
	body := string(prog)
	body = body[strings.Index(body, "import ("):]
	require.Contains(t, string(readme), body, "README's quick start differs from examples/quickstart/main.go: copy the file's code from `import (` on into the README")
}
