package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/watchdog"
)

// devDir is a fresh directory for a dev cluster that the postgres OS user
// can enter when the tests run as root (t.TempDir() is 0700). Cleanup stops
// whatever a failed test left running there.
func devDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	if _, err := pgcluster.FindBinDir(""); err != nil {
		t.Skip(err)
	}
	parent, err := os.MkdirTemp("", "unifieddb-devtest-*")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(parent, 0o755))
	t.Cleanup(func() {
		_ = pgcluster.StopDir(context.Background(), filepath.Join(parent, "db", devClusterDir))
		_ = os.RemoveAll(parent)
	})
	return filepath.Join(parent, "db")
}

// buildCLI builds the command, so that up runs in a process of its own that
// exits before the cluster is used.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "unifieddb")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func runBin(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errb.String()
}

// up in a process that exits; the servers stay up; database.yaml loads and
// a Manager writes on the primary and reads from a replica; status; down
// leaves no server and frees the ports.
func TestDevUpStatusDown(t *testing.T) {
	dir := devDir(t)
	bin := buildCLI(t)

	code, stdout, stderr := runBin(t, bin, "dev", "up", "--dir", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log("\n" + stdout)
	path := filepath.Join(dir, devConfigFile)
	assert.Contains(t, stdout, "datalayer.LoadConfig(\""+path+"\")")

	cfg, err := datalayer.LoadConfig(path)
	require.NoError(t, err)
	require.Len(t, cfg.ReplicaHosts, 2)
	assert.Empty(t, cfg.Warnings)
	assert.NotContains(t, stdout+stderr, cfg.Password, "the password is only in the file")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := datalayer.New(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Exec("CREATE TABLE dev_items (id int PRIMARY KEY, name text)").Error)
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Exec("INSERT INTO dev_items VALUES (1, 'ada')").Error)
	var name string
	require.Eventually(t, func() bool { // a replica has it once it has replayed
		name = ""
		return m.Conn(ctx, datalayer.ReadOnly).Raw("SELECT name FROM dev_items WHERE id = 1").Scan(&name).Error == nil && name == "ada"
	}, 30*time.Second, 50*time.Millisecond)
	rep, err := m.HealthCheck(ctx, datalayer.Fresh())
	require.NoError(t, err)
	assert.Equal(t, "healthy", string(rep.Status), "%+v", rep)
	require.NoError(t, m.Close())

	out := runQuickStart(t, path)
	require.Contains(t, out, "active customers read; cluster healthy", out)

	code, stdout, stderr = runBin(t, bin, "dev", "status", "--dir", dir)
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 4, stdout)
	for i, want := range []string{"primary", "replica", "replica"} {
		f := strings.Fields(lines[i+1])
		assert.Equal(t, []string{want, "yes"}, f[2:], lines[i+1])
	}

	pms := pgcluster.Postmasters(filepath.Join(dir, devClusterDir))
	require.Len(t, pms, 3)
	code, stdout, stderr = runBin(t, bin, "dev", "down", "--dir", dir)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "stopped 3 server(s)")
	assertDevGone(t, dir, pms)

	code, stdout, _ = runBin(t, bin, "dev", "down", "--dir", dir)
	assert.Equal(t, exitOK, code, "down twice is no error")
	assert.Contains(t, stdout, "no cluster in")
	code, _, stderr = runBin(t, bin, "dev", "status", "--dir", dir)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "no cluster in")
}

// assertDevGone checks that no server of pms is left, that no process has
// dir on its command line, that the ports are free and dir is removed.
func assertDevGone(t *testing.T, dir string, pms []pgcluster.Postmaster) {
	t.Helper()
	for _, pm := range pms {
		assert.False(t, procAlive(pm.PID), "postmaster %d (%s) still runs", pm.PID, pm.Name)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pm.Port)))
		if assert.NoError(t, err, "port %d of %s", pm.Port, pm.Name) {
			l.Close()
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir+"/")) {
			t.Errorf("%s still runs: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
	assert.NoDirExists(t, dir)
}

// procAlive reports whether pid runs: exists and is not a zombie (an exited
// server whose parent, init once up has exited, has not reaped it yet).
func procAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// up on a directory left by a crash starts a new cluster: once with the
// state file lost and the servers still running, once with every server
// killed (kill -9).
func TestDevUpAfterCrash(t *testing.T) {
	dir := devDir(t)
	wd := watchdog.ForTest(t)
	up := func() string {
		var stdout, stderr string
		var code int
		require.NoError(t, wd.Do(context.Background(), "dev up", 2*time.Minute, func(ctx context.Context) error {
			var out, errb bytes.Buffer
			code = run(ctx, []string{"dev", "up", "--dir", dir, "--replicas", "1", "--sync"}, &out, &errb)
			stdout, stderr = out.String(), errb.String()
			return nil
		}))
		require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		return stdout
	}
	cdir := filepath.Join(dir, devClusterDir)
	up()
	first := pgcluster.Postmasters(cdir)
	require.Len(t, first, 2)

	// Up again while it runs: nothing changes.
	assert.Contains(t, up(), "already up")
	assert.Equal(t, first, pgcluster.Postmasters(cdir))

	// The CLI's state is lost, the servers still run.
	require.NoError(t, os.Remove(filepath.Join(dir, devStateFile)))
	out := up()
	assert.Contains(t, out, "removed a cluster left by a crash")
	assert.Contains(t, out, "2 server(s) still running stopped")
	for _, pm := range first {
		assert.False(t, procAlive(pm.PID), "old postmaster %d still runs", pm.PID)
	}
	second := pgcluster.Postmasters(cdir)
	require.Len(t, second, 2)
	code, _, _ := runCmd(t, "dev", "status", "--dir", dir)
	assert.Equal(t, exitOK, code)

	// Every server is killed.
	for _, pm := range second {
		require.NoError(t, syscall.Kill(pm.PID, syscall.SIGKILL))
	}
	require.Eventually(t, func() bool { return len(pgcluster.Postmasters(cdir)) == 0 }, 10*time.Second, 20*time.Millisecond)
	code, stdout, _ := runCmd(t, "dev", "status", "--dir", dir)
	assert.Equal(t, exitFail, code, "a node is down")
	assert.Contains(t, stdout, "no\n")
	out = up()
	assert.Contains(t, out, "0 server(s) still running stopped")
	code, stdout, _ = runCmd(t, "dev", "status", "--dir", dir)
	assert.Equal(t, exitOK, code, stdout)
	assert.Contains(t, stdout, "primary")

	third := pgcluster.Postmasters(cdir)
	require.NoError(t, wd.Do(context.Background(), "dev down", time.Minute, func(ctx context.Context) error {
		var out, errb bytes.Buffer
		code = run(ctx, []string{"dev", "down", "--dir", dir}, &out, &errb)
		return nil
	}))
	assert.Equal(t, exitOK, code)
	assertDevGone(t, dir, third)
}

func TestDevUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dev"}, {"dev", "sideways"}, {"dev", "up", "extra"},
		{"dev", "up", "--replicas", "9"}, {"dev", "up", "--replicas", "0", "--sync"},
		{"dev", "up", "--dir", ""}, {"dev", "down", "--frobnicate"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, stdout, "%v", args)
		assert.Contains(t, stderr, "Usage: unifieddb dev", "%v", args)
	}
	for _, sub := range devCommands {
		code, stdout, _ := runCmd(t, "dev", sub.name, "--help")
		assert.Equal(t, exitOK, code)
		assert.Contains(t, stdout, "Usage: unifieddb dev "+sub.name)
	}
}
