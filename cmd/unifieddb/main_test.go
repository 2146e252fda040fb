package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout; "" means stdout is empty
		stderr string // substring of stderr; "" means stderr is empty
	}{
		{"no command", nil, exitUsage, "", "Usage: unifieddb <command>"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, exitOK, "demo", ""},
		{"--help", []string{"--help"}, exitOK, "Commands:", ""},
		{"--help names --version", []string{"--help"}, exitOK, "--version", ""},
		{"command help names --help", []string{"health", "-h"}, exitOK, "-h, -help, --help", ""},
		{"-h", []string{"-h"}, exitOK, "version", ""},
		{"help demo", []string{"help", "demo"}, exitOK, "Usage: unifieddb demo", ""},
		{"help unknown", []string{"help", "frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"demo --help", []string{"demo", "--help"}, exitOK, "Usage: unifieddb demo [flags]", ""},
		{"demo -h", []string{"demo", "-h"}, exitOK, "Usage: unifieddb demo", ""},
		{"demo unknown flag", []string{"demo", "--keep"}, exitUsage, "", "flag provided but not defined: -keep"},
		{"demo extra argument", []string{"demo", "now"}, exitUsage, "", `unexpected argument "now"`},
		{"version --help", []string{"version", "--help"}, exitOK, "Usage: unifieddb version", ""},
		{"version extra argument", []string{"version", "x"}, exitUsage, "", `unexpected argument "x"`},
		{"version", []string{"version"}, exitOK, "unifieddb ", ""},
		{"--version", []string{"--version"}, exitOK, "unifieddb ", ""},
		{"-version", []string{"-version"}, exitOK, "unifieddb ", ""},
		{"-help", []string{"-help"}, exitOK, "Commands:", ""},
		{"config -help", []string{"config", "validate", "-help"}, exitOK, "Usage: unifieddb config validate", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			assert.Equal(t, tc.code, code)
			check := func(what, got, want string) {
				if want == "" {
					assert.Empty(t, got, what)
				} else {
					assert.Contains(t, got, want, what)
				}
			}
			check("stdout", stdout, tc.stdout)
			check("stderr", stderr, tc.stderr)
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		code, stdout, stderr := runCmd(t, c.name, "--help")
		assert.Equal(t, exitOK, code, c.name)
		assert.Contains(t, stdout, "Usage: unifieddb "+c.name, c.name)
		assert.Empty(t, stderr, c.name)
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	var cluster *pgcluster.Cluster
	start := startCluster
	startCluster = func(ctx context.Context, o pgcluster.Options) (*pgcluster.Cluster, error) {
		c, err := start(ctx, o)
		cluster = c
		return c, err
	}
	t.Cleanup(func() { startCluster = start })

	code, stdout, stderr := runCmd(t, "demo")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.NotNil(t, cluster)
	t.Log("\n" + stdout)

	for _, section := range []string{
		"Start a local PostgreSQL cluster", "Open a Manager", "Write in read_write mode",
		"Read in auto and read_only modes", "Who served what", "A write in read_only mode is refused",
		"Effective configuration (password redacted)", "Clean up",
	} {
		assert.Contains(t, stdout, section)
	}
	assert.Contains(t, stdout, "write refused in read-only mode")
	assert.Contains(t, stdout, "errors.Is(err, datalayer.ErrReadOnly) = true")
	assert.Contains(t, stdout, "password: '***'")

	// The cluster password appears nowhere.
	pw := cluster.Password()
	require.NotEmpty(t, pw)
	assert.NotContains(t, stdout, pw)
	assert.NotContains(t, stderr, pw)

	counts := servedCounts(t, stdout)
	require.Len(t, counts, 3, "rows of the served table: %v", counts)
	for mode, want := range map[string]map[string]bool{ // node → must serve
		"auto":       {"primary": false, "replica1": true, "replica2": true},
		"read_only":  {"primary": false, "replica1": true, "replica2": true},
		"read_write": {"primary": true, "replica1": false, "replica2": false},
	} {
		for node, serves := range want {
			if serves {
				assert.Positive(t, counts[mode][node], "%s on %s", mode, node)
			} else {
				assert.Zero(t, counts[mode][node], "%s on %s", mode, node)
			}
		}
	}
	assert.Equal(t, demoWrites, counts["read_write"]["primary"])

	// Close removed everything.
	assert.NoDirExists(t, cluster.Dir())
}

func TestDemoCanceled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if Ctrl-C came at once
	var out, errb bytes.Buffer
	assert.Equal(t, exitFail, run(ctx, []string{"demo"}, &out, &errb))
	assert.Contains(t, errb.String(), "interrupted")
}

// servedCounts reads the "Who served what" table: mode → node → statements.
func servedCounts(t *testing.T, stdout string) map[string]map[string]int {
	t.Helper()
	_, after, ok := strings.Cut(stdout, "Who served what")
	require.True(t, ok)
	lines := strings.Split(after, "\n")
	var header []string
	counts := map[string]map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "MODE" {
			header = f
			continue
		}
		if header == nil {
			continue
		}
		nodes := header[2:]
		if len(f) < len(nodes)+2 {
			break // the table ended
		}
		row := map[string]int{}
		for i, node := range nodes { // the last columns; STATEMENTS spans several fields
			n, err := strconv.Atoi(f[len(f)-len(nodes)+i])
			if err != nil {
				return counts // the table ended
			}
			row[node] = n
		}
		counts[f[0]] = row
	}
	return counts
}
