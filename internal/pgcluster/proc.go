package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runAs is the OS identity the server binaries run under. PostgreSQL refuses
// to run as root, so as root we switch to the postgres user.
type runAs struct {
	cred *syscall.Credential // nil: run as ourselves
	uid  int
	gid  int
	home string
}

func lookupRunAs() (runAs, error) {
	if os.Geteuid() != 0 {
		home, _ := os.UserHomeDir()
		return runAs{uid: os.Geteuid(), gid: os.Getegid(), home: home}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("pgcluster: running as root needs the postgres OS user: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return runAs{}, fmt.Errorf("pgcluster: postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return runAs{}, fmt.Errorf("pgcluster: postgres gid %q: %w", u.Gid, err)
	}
	return runAs{
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true},
		uid:  uid, gid: gid, home: u.HomeDir,
	}, nil
}

// chown gives path to the server user (no-op when we are that user).
func (r runAs) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	return os.Lchown(path, r.uid, r.gid)
}

// writeFile writes a file the server user can read and rewrite.
func (r runAs) writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return err
	}
	return r.chown(path)
}

// sysProcAttr puts the child in its own process group (so the whole server can
// be signalled), kills it if our spawning thread dies, and drops root.
func (r runAs) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: r.cred}
}

// env is the environment of every child: ours without PG* variables (they
// would change what the tools connect to), plus the given ones.
func (r runAs) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+r.home, "LC_ALL=C", "LANG=C")
	return append(env, extra...)
}

// spawner starts every child process from one goroutine locked to its OS
// thread. Pdeathsig fires when the thread that forked the child exits, not the
// process; a locked thread that lives as long as the cluster makes "the child
// dies when the test binary dies" hold without killing children early.
type spawner struct {
	mu     sync.Mutex
	closed bool
	reqs   chan spawnReq
	done   chan struct{}
}

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for req := range s.reqs {
			req.errc <- req.cmd.Start()
		}
	}()
	return s
}

// start runs cmd.Start on the spawner thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	req := spawnReq{cmd: cmd, errc: make(chan error, 1)}
	s.reqs <- req
	s.mu.Unlock()
	return <-req.errc
}

func (s *spawner) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
	}
	s.mu.Unlock()
	<-s.done
}

// runTool runs a short-lived PostgreSQL program to completion and returns its
// combined output. Cancelling ctx kills its whole process group (pg_rewind
// starts a single-user postgres of its own).
func (c *Cluster) runTool(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = dir
	cmd.Env = c.runAs.env(env...)
	cmd.SysProcAttr = c.runAs.sysProcAttr()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := c.spawner.start(cmd); err != nil {
		return "", c.redact.Error(fmt.Errorf("pgcluster: %s: %w", name, err))
	}
	err := cmd.Wait()
	// The group may outlive its leader (a child of pg_rewind); do not leave it behind.
	if groupAlive(cmd.Process.Pid) {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	text := c.redact.String(strings.TrimSpace(out.String()))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return text, c.redact.Error(fmt.Errorf("pgcluster: %s: %w: %s", name, err, text))
	}
	return text, nil
}

// procState returns the state letter of /proc/PID/stat ("R", "S", "Z"...),
// its process group and command name; ok is false when the process is gone.
func procState(pid int) (state string, pgrp int, comm string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, "", false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, "", false
	}
	comm = s[open+1 : end]
	f := strings.Fields(s[end+1:])
	if len(f) < 3 {
		return "", 0, "", false
	}
	pgrp, _ = strconv.Atoi(f[2])
	return f[0], pgrp, comm, true
}

// pidAlive reports whether pid is a live process: present and not a zombie.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, _, _, ok := procState(pid)
	return ok && st != "Z" && st != "X"
}

// groupAlive reports whether any live (non-zombie) process is in group pgid.
// Backends orphaned by a killed postmaster are reparented to PID 1, which in a
// container may never reap them; zombies hold no shared memory or sockets, so
// they do not count.
func groupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, pg, _, ok := procState(pid); ok && pg == pgid && st != "Z" && st != "X" {
			return true
		}
	}
	return false
}

// waitGroupGone SIGKILLs group pgid until no live process is left in it.
func waitGroupGone(pgid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for groupAlive(pgid) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if time.Now().After(deadline) {
			return fmt.Errorf("process group %d still alive after %s", pgid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// children returns the live processes whose parent is pid. PostgreSQL makes
// every child of the postmaster the leader of a session of its own (setsid),
// so signalling the postmaster's process group does not reach backends: they
// must be found and signalled one by one.
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// signalTree sends sig to the postmaster's group and to each of its children.
func signalTree(pid int, sig syscall.Signal) error {
	kids := children(pid)
	if err := syscall.Kill(-pid, sig); err != nil {
		return err
	}
	for _, k := range kids {
		_ = syscall.Kill(k, sig)
	}
	// A child forked while we listed: catch it too.
	for _, k := range children(pid) {
		_ = syscall.Kill(k, sig)
	}
	return nil
}

// waitPidsGone waits until none of pids is a live process.
func waitPidsGone(pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, p := range pids {
		for pidAlive(p) {
			_ = syscall.Kill(p, syscall.SIGKILL)
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d still alive after %s", p, timeout)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}
