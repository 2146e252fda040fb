package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

const devDescription = `
Run a local PostgreSQL cluster for development, from this machine's
PostgreSQL server binaries, that stays up after the command exits:

  up      start a primary and N streaming replicas on free 127.0.0.1 ports,
          write DIR/database.yaml (for datalayer.LoadConfig) and print it
  status  print each node's role, address and whether it is up
  down    stop the servers and remove what up made in DIR

Run "unifieddb dev <subcommand> --help" for the flags of one.`

const devUpDescription = `
Start a primary and --replicas streaming replicas (replica1 synchronous with
--sync) on free 127.0.0.1 ports, with their data in DIR/cluster, and write
DIR/database.yaml, a configuration datalayer.LoadConfig reads (the password
is only in that file, mode 0600; the printed copy shows ***). The servers
keep running after this command exits, until "unifieddb dev down --dir DIR".

If DIR already holds a running cluster, up prints its configuration and
changes nothing. If it holds what a crash left (servers gone, or running
without the state file), up stops the leftover servers, removes the old
cluster and starts a new one.

Exit status: 0 up, 1 failure, 2 usage error.`

const devDownDescription = `
Stop the servers of the cluster in DIR (fast shutdown, then SIGKILL after
30 s), wait until none is left, and remove DIR/cluster, DIR/database.yaml,
the state file and DIR itself when it is then empty. Nothing in DIR is a
problem: down exits 0.

Exit status: 0 stopped (or nothing to stop), 1 failure, 2 usage error.`

const devStatusDescription = `
Print each node of the cluster in DIR: name, address, role (primary,
replica or -) and whether it is up.

Exit status: 0 every node up, 1 no cluster in DIR or a node down, 2 usage error.`

// Files of a dev cluster in its directory.
const (
	devConfigFile = "database.yaml"
	devStateFile  = "unifieddb-dev.json"
	devClusterDir = "cluster"
	devDefaultDir = ".unifieddb-dev"
)

// devState is what up leaves for status and down (mode 0600: it holds the
// password).
type devState struct {
	Database string    `json:"database"`
	User     string    `json:"user"`
	Password string    `json:"password"`
	Nodes    []devNode `json:"nodes"`
}

type devNode struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

func (n devNode) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

var devCommands = []command{
	{"up", "start a primary and replicas and write database.yaml", runDevUp},
	{"status", "print each node's role, address and state", runDevStatus},
	{"down", "stop the cluster and remove its files", runDevDown},
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dev", "<up|status|down> ...", devDescription)
	return runSubcommand(ctx, fs, devCommands, args, stdout, stderr)
}

// devFlags parses the flags of a dev subcommand (no positional arguments)
// and returns DIR as an absolute path.
func devFlags(fs *flag.FlagSet, dir *string, args []string, stdout, stderr io.Writer) (string, int, bool) {
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return "", code, true
	}
	if code, done := noArgs(fs, stderr); done {
		return "", code, true
	}
	if *dir == "" {
		return "", usageError(fs, stderr, "--dir must not be empty"), true
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return "", exitFail, true
	}
	return abs, exitOK, false
}

func devDirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", devDefaultDir, "the cluster's `DIR`ectory")
}

func runDevUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dev up", "", devUpDescription)
	dirFlag := devDirFlag(fs)
	replicas := fs.Int("replicas", 2, "`N` streaming replicas (0-8)")
	sync := fs.Bool("sync", false, "make replica1 a synchronous standby")
	dir, code, done := devFlags(fs, dirFlag, args, stdout, stderr)
	if done {
		return code
	}
	if *replicas < 0 || *replicas > 8 {
		return usageError(fs, stderr, "--replicas must be between 0 and 8, got %d", *replicas)
	}
	if *sync && *replicas == 0 {
		return usageError(fs, stderr, "--sync needs at least one replica")
	}
	if err := devUp(ctx, dir, *replicas, *sync, stdout); err != nil {
		fmt.Fprintln(stderr, "unifieddb dev up:", err)
		if errors.Is(err, pgcluster.ErrNoServerBinaries) {
			fmt.Fprintln(stderr, "Install them with scripts/ensure-postgres.sh (as root it installs Debian's postgresql package).")
		}
		if errors.Is(err, pgcluster.ErrDirNotEnterable) {
			fmt.Fprintln(stderr, "As root the servers run as the postgres OS user: choose a --dir it can enter, e.g. under /tmp (not under a 0700 directory such as root's home).")
		}
		return exitFail
	}
	return exitOK
}

func devUp(ctx context.Context, dir string, replicas int, sync bool, stdout io.Writer) error {
	if st, err := readDevState(dir); err == nil && devAllUp(dir, st) {
		fmt.Fprintf(stdout, "unifieddb dev: already up in %s (run \"unifieddb dev down --dir %s\" first to change it)\n\n", dir, dir)
		return printDevConfig(dir, st, stdout)
	}
	if n, err := devCleanup(ctx, dir); err != nil {
		return err
	} else if n >= 0 {
		fmt.Fprintf(stdout, "unifieddb dev: removed a cluster left by a crash in %s (%d server(s) still running stopped)\n", dir, n)
	}
	begin := time.Now()
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		Replicas: replicas, SyncReplica: sync, Dir: filepath.Join(dir, devClusterDir), Detach: true,
	})
	if err != nil {
		return err
	}
	st := devState{Database: c.Database(), User: c.User(), Password: c.Password()}
	for _, n := range c.Nodes() {
		st.Nodes = append(st.Nodes, devNode{Name: n.Name(), Port: n.Port()})
	}
	if err := writeDevFiles(dir, st); err != nil {
		_ = c.Close()
		_, _ = devCleanup(context.WithoutCancel(ctx), dir)
		return err
	}
	c.Release() // the servers keep running after we exit
	fmt.Fprintf(stdout, "unifieddb dev: up in %s (%s)\n\n", dir, time.Since(begin).Round(time.Millisecond))
	return printDevConfig(dir, st, stdout)
}

// devConfig is the configuration of the cluster as LoadConfig reads it.
func devConfig(dir string, st devState) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `unifieddb dev up`; stop the cluster with `unifieddb dev down --dir %s`.\n", dir)
	b.WriteString("database:\n")
	fmt.Fprintf(&b, "  host: 127.0.0.1\n  port: %d\n  database: %s\n  username: %s\n  password: %q\n",
		st.Nodes[0].Port, st.Database, st.User, st.Password)
	if len(st.Nodes) > 1 {
		b.WriteString("  replica_hosts:\n")
		for _, n := range st.Nodes[1:] {
			fmt.Fprintf(&b, "    - %s\n", n.addr())
		}
	}
	b.WriteString("  sslmode: disable\n")
	return []byte(b.String())
}

// writeDevFiles writes database.yaml (checked with LoadConfig) and the state.
func writeDevFiles(dir string, st devState) error {
	path := filepath.Join(dir, devConfigFile)
	if err := os.WriteFile(path, devConfig(dir, st), 0o600); err != nil {
		return err
	}
	if _, err := datalayer.LoadConfig(path); err != nil {
		return fmt.Errorf("the written configuration does not load: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, devStateFile), b, 0o600)
}

// printDevConfig prints the nodes and the configuration, password ***.
func printDevConfig(dir string, st devState, stdout io.Writer) error {
	if err := printDevNodes(context.Background(), dir, st, stdout); err != nil {
		return err
	}
	path := filepath.Join(dir, devConfigFile)
	fmt.Fprintf(stdout, "\n%s (password only in the file):\n\n", path)
	out := redacting(stdout, st.Password)
	_, err := out.Write(devConfig(dir, st))
	fmt.Fprintf(stdout, "\nIn Go: cfg, err := datalayer.LoadConfig(%q)\nStop:  unifieddb dev down --dir %s\n", path, dir)
	return err
}

func readDevState(dir string) (devState, error) {
	var st devState
	b, err := os.ReadFile(filepath.Join(dir, devStateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, devStateFile), err)
	}
	if len(st.Nodes) == 0 {
		return st, fmt.Errorf("%s: no nodes", filepath.Join(dir, devStateFile))
	}
	return st, nil
}

// devAllUp reports whether every node of st has a live postmaster.
func devAllUp(dir string, st devState) bool {
	up := devUpNodes(dir)
	for _, n := range st.Nodes {
		if !up[n.Name] {
			return false
		}
	}
	return true
}

// devUpNodes are the names of the nodes whose postmaster lives.
func devUpNodes(dir string) map[string]bool {
	up := map[string]bool{}
	for _, pm := range pgcluster.Postmasters(filepath.Join(dir, devClusterDir)) {
		up[pm.Name] = true
	}
	return up
}

// devCleanup stops the servers of a cluster left in dir and removes what
// up made. It returns how many servers it stopped, or -1 when there was
// nothing of a cluster in dir. A DIR/cluster that pgcluster did not make (no
// owner.pid) is refused rather than removed.
func devCleanup(ctx context.Context, dir string) (int, error) {
	cdir := filepath.Join(dir, devClusterDir)
	_, cerr := os.Stat(cdir)
	_, serr := os.Stat(filepath.Join(dir, devStateFile))
	if errors.Is(cerr, fs.ErrNotExist) && errors.Is(serr, fs.ErrNotExist) {
		return -1, nil
	}
	n := 0
	if cerr == nil {
		if _, err := os.Stat(filepath.Join(cdir, "owner.pid")); err != nil {
			return 0, fmt.Errorf("%s was not made by unifieddb dev (no owner.pid): remove it or choose another --dir", cdir)
		}
		n = len(pgcluster.Postmasters(cdir))
		if err := pgcluster.StopDir(ctx, cdir); err != nil {
			return n, err
		}
		if err := os.RemoveAll(cdir); err != nil {
			return n, err
		}
	}
	for _, f := range []string{devStateFile, devConfigFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, err
		}
	}
	return n, nil
}

func runDevDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dev down", "", devDownDescription)
	dirFlag := devDirFlag(fs)
	dir, code, done := devFlags(fs, dirFlag, args, stdout, stderr)
	if done {
		return code
	}
	n, err := devCleanup(ctx, dir)
	if err != nil {
		fmt.Fprintln(stderr, "unifieddb dev down:", err)
		return exitFail
	}
	if n < 0 {
		fmt.Fprintf(stdout, "unifieddb dev: no cluster in %s\n", dir)
		return exitOK
	}
	_ = os.Remove(dir) // only when empty: DIR may hold the user's files too
	fmt.Fprintf(stdout, "unifieddb dev: stopped %d server(s) and removed the cluster in %s\n", n, dir)
	return exitOK
}

func runDevStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("dev status", "", devStatusDescription)
	dirFlag := devDirFlag(flags)
	dir, code, done := devFlags(flags, dirFlag, args, stdout, stderr)
	if done {
		return code
	}
	st, err := readDevState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "unifieddb dev status: no cluster in %s (start one with \"unifieddb dev up --dir %s\")\n", dir, dir)
		return exitFail
	}
	if err != nil {
		fmt.Fprintln(stderr, "unifieddb dev status:", err)
		return exitFail
	}
	if err := printDevNodes(ctx, dir, st, stdout); err != nil {
		fmt.Fprintln(stderr, "unifieddb dev status:", err)
		return exitFail
	}
	if !devAllUp(dir, st) {
		return exitFail
	}
	return exitOK
}

// printDevNodes prints one line per node: name, address, role, up.
func printDevNodes(ctx context.Context, dir string, st devState, w io.Writer) error {
	up := devUpNodes(dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tROLE\tUP")
	for _, n := range st.Nodes {
		role := "-"
		if up[n.Name] {
			role = devRole(ctx, st, n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, n.addr(), role, yesNo(up[n.Name]))
	}
	return tw.Flush()
}

// devRole asks the node whether it is in recovery: "primary", "replica",
// or "unknown" when it does not answer within 3 s.
func devRole(ctx context.Context, st devState, n devNode) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig("host=127.0.0.1 sslmode=disable dbname=postgres")
	if err != nil {
		return "unknown"
	}
	cfg.Port, cfg.User, cfg.Password = uint16(n.Port), st.User, st.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "unknown"
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	var rec bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
		return "unknown"
	}
	if rec {
		return "replica"
	}
	return "primary"
}
