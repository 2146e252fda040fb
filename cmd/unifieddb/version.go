package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
// Otherwise it comes from the module's build information.
var version = ""

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", "Print the version of unifieddb, its VCS revision when known, and the Go toolchain.")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if code, done := noArgs(fs, stderr); done {
		return code
	}
	fmt.Fprintln(stdout, versionString(ctx))
	return exitOK
}

func versionString(ctx context.Context) string {
	bi, _ := debug.ReadBuildInfo()
	s := versionFrom(version, bi)
	if !strings.HasPrefix(s, "unifieddb devel go") {
		return s
	}
	// No version and no VCS data: go run, a git worktree and
	// -buildvcs=false record none. Ask git about the checkout the binary
	// was built from, if it is still there.
	rev, dirty := checkoutRevision(ctx, sourceDir())
	if rev == "" {
		return s
	}
	return strings.Replace(s, "unifieddb devel", "unifieddb devel (checkout "+shortRevision(rev, dirty)+")", 1)
}

// sourceDir is the directory this file was compiled from, "" when the
// build trimmed paths.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Dir(file)
}

// checkoutRevision is the git HEAD of dir and whether tracked files differ
// from it; "" when dir is no git checkout or git does not answer within 2 s.
func checkoutRevision(ctx context.Context, dir string) (rev string, dirty bool) {
	if dir == "" {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	rev = strings.TrimSpace(string(out))
	out, err = exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	return rev, err == nil && len(bytes.TrimSpace(out)) > 0
}

// shortRevision is rev's first 12 characters, "+dirty" when modified.
func shortRevision(rev string, dirty bool) string {
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// modulePath is the module unifieddb is built from.
const modulePath = "github.com/prompt-improver/unifieddb"

// versionFrom is the version line: the linked version, else the version of
// the unifieddb module from the build information — the main module when
// built here or installed with go install ...@v1.2.3 (no VCS data then), a
// dependency when built from another module — else "devel"; then the VCS
// revision when the build recorded one.
func versionFrom(linked string, bi *debug.BuildInfo) string {
	v, rev, dirty := linked, "", false
	if bi != nil {
		if v == "" {
			v = moduleVersion(bi)
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	s := "unifieddb " + v
	if rev != "" {
		s += " (" + shortRevision(rev, dirty) + ")"
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// moduleVersion is the version of modulePath in bi: the required version
// of a replaced dependency (the replacement's is "(devel)" for a directory).
func moduleVersion(bi *debug.BuildInfo) string {
	if bi.Main.Path == modulePath {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			return d.Version
		}
	}
	return ""
}
