package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
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
	fmt.Fprintln(stdout, versionString())
	return exitOK
}

func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(version, bi)
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
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		s += " (" + rev + ")"
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
