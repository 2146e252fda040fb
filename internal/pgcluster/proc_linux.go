//go:build linux

package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The process control of the cluster: Linux only (Pdeathsig, /proc, process
// groups). proc_other.go makes Start fail with ErrNeedsLinux elsewhere.

// credential is who the server runs as; nil: ourselves.
type credential = *syscall.Credential

// Signals Pause, Resume and Kill send.
const (
	sigKill = syscall.SIGKILL
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)

// supported reports whether this OS can run a cluster.
func supported() error { return nil }

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

// sysProcAttr puts the child in its own process group (so the whole server can
// be signalled), kills it if our spawning thread dies, and drops root.
func (r runAs) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: r.cred}
}

// detachedProcAttr starts a server that outlives us (Options.Detach): a
// session of its own (so also a process group led by the postmaster, and no
// controlling terminal), no Pdeathsig.
func (r runAs) detachedProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Credential: r.cred}
}

// killGroup SIGKILLs process group pgid.
func killGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGKILL) }

// continueGroup SIGCONTs process group pgid (a paused server).
func continueGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGCONT) }

// interrupt SIGINTs pid (PostgreSQL's fast shutdown); a process already gone
// is no error.
func interrupt(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
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

// statOwner returns the uid and gid of a file.
func statOwner(fi os.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
