package pgcluster

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The helpers below let internal/patronitest run its servers the way this
// package does (same port range, binaries, OS user and Pdeathsig thread)
// without a copy of the code. They change nothing for Cluster.

// ReservePort returns a free 127.0.0.1 port below the ephemeral range,
// reserved in this process (against pgcluster's own clusters too) until
// ReleasePort.
func ReservePort() (int, error) { return reservePort() }

// ReleasePort gives back a port from ReservePort.
func ReleasePort(p int) { releasePort(p) }

// FindBinDir returns dir, or when dir is "" $UNIFIEDDB_PG_BINDIR or the
// machine's PostgreSQL server binary directory, after checking that postgres
// and initdb are there. It wraps ErrNoServerBinaries.
func FindBinDir(dir string) (string, error) { return findBinDir(dir) }

// MissingTools lists which of pg_basebackup and pg_rewind binDir lacks
// (Patroni needs both; a Cluster copes without them).
func MissingTools(binDir string) []string {
	var missing []string
	for _, t := range optionalTools {
		if !isProgram(filepath.Join(binDir, t)) {
			missing = append(missing, t)
		}
	}
	return missing
}

// ServerUser is the OS identity server processes run under: ourselves, or
// the postgres OS user when we are root (PostgreSQL refuses to run as root).
type ServerUser struct{ r runAs }

// LookupServerUser returns the identity servers run under.
func LookupServerUser() (ServerUser, error) {
	r, err := lookupRunAs()
	return ServerUser{r}, err
}

// IsOther reports whether servers run as another user than ourselves.
func (u ServerUser) IsOther() bool { return u.r.cred != nil }

// UID is the server user's uid.
func (u ServerUser) UID() int { return u.r.uid }

// Chown gives path to the server user (no-op when we are that user).
func (u ServerUser) Chown(path string) error { return u.r.chown(path) }

// SysProcAttr puts a child in its own process group, SIGKILLs it when the
// thread that started it dies (start it with a Spawner) and drops root.
func (u ServerUser) SysProcAttr() *syscall.SysProcAttr { return u.r.sysProcAttr() }

// Env is our environment without PG*, HOME and locale variables, with the
// server user's HOME, LC_ALL=C and extra.
func (u ServerUser) Env(extra ...string) []string { return u.r.env(extra...) }

// Spawner starts child processes from one locked OS thread that lives until
// Close, so that Pdeathsig fires when the test process dies, not before.
type Spawner struct{ s *spawner }

// NewSpawner starts the spawner thread.
func NewSpawner() *Spawner { return &Spawner{newSpawner()} }

// Start runs cmd.Start on the spawner thread; after Close it returns ErrClosed.
func (s *Spawner) Start(cmd *exec.Cmd) error { return s.s.start(cmd) }

// Close ends the spawner thread; children it started get their Pdeathsig.
func (s *Spawner) Close() { s.s.close() }

// ReadPID reads the process id on the first line of a pid file
// (postmaster.pid, owner.pid): 0 when that line is not a number.
func ReadPID(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, sc.Err()
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(sc.Text()))
	return pid, nil
}
