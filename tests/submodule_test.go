package tests

import (
	"context"
	"os"
	"os/exec"
	"strings"
)

// goInModule runs the go command in dir, a module of its own under tests/
// (its go.mod replaces this module by ../..), with env added to this
// process's environment, and returns its combined output. -mod=mod lets it
// use the module cache as its committed go.sum says, offline once the cache
// is warm.
func goInModule(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
