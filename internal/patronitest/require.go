//go:build linux

package patronitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Require skips t unless UNIFIEDDB_PATRONI is set (make test-patroni sets
// it), and when Patroni is not installed and we are not root. As
// root it installs it with scripts/ensure-patroni.sh (and fails t if that
// fails), so the Patroni tests run on a fresh CI machine and skip on a
// developer's.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("UNIFIEDDB_PATRONI") == "" {
		// Minutes of cluster start-ups: run by `make test-patroni`, not by
		// every `make test`.
		t.Skip("patronitest: the Patroni tests run with UNIFIEDDB_PATRONI=1 (make test-patroni)")
	}
	if err := Installed(); err == nil {
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("patronitest: Patroni (patroni, patronictl, python3-pysyncobj) is not installed and we are not root: " +
			"run scripts/ensure-patroni.sh as root (or `sudo apt-get install patroni python3-pysyncobj`) to run this test")
	}
	script, err := ensureScript()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script).CombinedOutput()
	if err != nil {
		t.Fatalf("patronitest: %s: %v\n%s", script, err, out)
	}
	if err := Installed(); err != nil {
		t.Fatal(err)
	}
}

// Installed reports whether patroni and patronictl are on PATH.
func Installed() error {
	for _, b := range []string{"patroni", "patronictl"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("patronitest: %w", err)
		}
	}
	return nil
}

// ensureScript finds scripts/ensure-patroni.sh in the module root above the
// working directory (go test runs in the package directory).
func ensureScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "scripts", "ensure-patroni.sh"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("patronitest: no go.mod above the working directory")
		}
		dir = parent
	}
}
