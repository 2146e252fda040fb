package main

import (
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionFromBuildInfo(t *testing.T) {
	const mod = "github.com/prompt-improver/unifieddb"
	for _, tc := range []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"no build info", "", nil, "unifieddb devel"},
		{"linked", "v9.9.9", &debug.BuildInfo{Main: debug.Module{Path: mod, Version: "v1.2.3"}}, "unifieddb v9.9.9"},
		// go install github.com/prompt-improver/unifieddb/cmd/unifieddb@v1.2.3: no VCS data.
		{"installed", "", &debug.BuildInfo{Main: debug.Module{Path: mod, Version: "v1.2.3"}}, "unifieddb v1.2.3"},
		// Built from another module that requires unifieddb: the version is
		// that of the dependency, not of the main module.
		{"dependency", "", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app", Version: "(devel)"},
			Deps: []*debug.Module{{Path: "gorm.io/gorm", Version: "v1.31.2"}, {Path: mod, Version: "v1.4.0"}},
		}, "unifieddb v1.4.0"},
		{"replaced dependency", "", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app", Version: "v0.1.0"},
			Deps: []*debug.Module{{Path: mod, Version: "v1.4.0", Replace: &debug.Module{Path: "../unifieddb", Version: "(devel)"}}},
		}, "unifieddb v1.4.0"},
		{"checkout", "", &debug.BuildInfo{
			Main:     debug.Module{Path: mod, Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}},
		}, "unifieddb devel (0123456789ab+dirty)"},
		// go build in a clone (Go 1.24+): a pseudo-version and the VCS data.
		{"stamped checkout", "", &debug.BuildInfo{
			Main: debug.Module{Path: mod, Version: "v0.0.0-20261207161757-ec6f69161f19+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "ec6f69161f19aa"},
				{Key: "vcs.time", Value: "2026-12-07T16:17:57Z"}, {Key: "vcs.modified", Value: "true"}},
		}, "unifieddb v0.0.0-20261207161757-ec6f69161f19+dirty (ec6f69161f19+dirty)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := versionFrom(tc.linked, tc.bi)
			assert.Regexp(t, "^"+regexpQuote(tc.want)+" go", got)
		})
	}
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }
