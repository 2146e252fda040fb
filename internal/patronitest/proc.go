//go:build linux

package patronitest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// withoutPython drops PYTHON* variables from env.
func withoutPython(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PYTHON") {
			out = append(out, kv)
		}
	}
	return out
}

// killPatroni SIGKILLs n's Patroni and its process group (a pg_basebackup or
// pg_rewind it runs) and waits until it is reaped. PostgreSQL is not in that
// group: Patroni detaches it.
func (c *Cluster) killPatroni(n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.patroni == nil {
		return nil
	}
	pid := n.patroni.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		return fmt.Errorf("patronitest: %s: patroni %d not reaped after SIGKILL", n.Name, pid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pid, syscall.SIGKILL) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("patronitest: %s: process group %d still alive", n.Name, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.patroni, n.exited = nil, nil
	return nil
}

// postmasterPID reads the pid of n's postmaster from postmaster.pid; 0 when
// there is none or it is not alive.
func postmasterPID(n *Node) int {
	b, err := os.ReadFile(filepath.Join(n.dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(line)))
	if !alive(pid) {
		return 0
	}
	return pid
}

// killTree SIGKILLs pids and their children (PostgreSQL backends are
// sessions of their own, so no process group reaches them) and waits until
// none is alive.
func killTree(pids []int, timeout time.Duration) error {
	var all []int
	for _, p := range pids {
		all = append(all, p)
		all = append(all, children(p)...)
	}
	for _, p := range all {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(timeout)
	for _, p := range all {
		for alive(p) {
			if time.Now().After(deadline) {
				return fmt.Errorf("patronitest: process %d still alive after SIGKILL", p)
			}
			_ = syscall.Kill(p, syscall.SIGKILL)
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// killByDir kills every live process whose command line names dir (Patroni,
// postmasters, pg_basebackup...) with its children, until none is left.
func killByDir(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids := mentioning(dir)
		if len(pids) == 0 {
			return nil
		}
		if err := killTree(pids, time.Until(deadline)); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("patronitest: processes of %s still alive: %v", dir, pids)
		}
	}
}

// mentioning returns the live processes whose command line contains s.
func mentioning(s string) []int {
	var out []int
	eachProc(func(pid int) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(s)) && alive(pid) {
			out = append(out, pid)
		}
	})
	return out
}

// children returns the live processes whose parent is pid.
func children(pid int) []int {
	var out []int
	eachProc(func(p int) {
		if st, ppid, ok := stat(p); ok && ppid == pid && st != "Z" && st != "X" {
			out = append(out, p)
		}
	})
	return out
}

func eachProc(fn func(pid int)) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			fn(pid)
		}
	}
}

// stat returns the state letter and parent of pid from /proc/PID/stat.
func stat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0], ppid, true
}

// alive reports whether pid is a live process (present, not a zombie):
// a killed postmaster's orphans may never be reaped by a container's PID 1.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, _, ok := stat(pid)
	return ok && st != "Z" && st != "X"
}

// removeStale kills what is left of clusters whose owner process is gone and
// removes their directories, best effort.
func removeStale(base string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPattern))
	for _, d := range dirs {
		owner, err := pgcluster.ReadPID(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		if owner <= 0 || owner == os.Getpid() || alive(owner) {
			continue
		}
		if err := killByDir(d, 10*time.Second); err != nil {
			continue
		}
		if err := os.RemoveAll(d); err == nil && logf != nil {
			logf("patronitest: removed stale %s", d)
		}
	}
}

// redactString removes the cluster password from s.
func (c *Cluster) redactString(s string) string {
	if c.password == "" {
		return s
	}
	return strings.ReplaceAll(s, c.password, "[redacted]")
}

// redact keeps err's chain (errors.Is still works) and hides the password
// in its text.
func (c *Cluster) redact(err error) error {
	if err == nil || c.password == "" || !strings.Contains(err.Error(), c.password) {
		return err
	}
	return redacted{err: err, text: c.redactString(err.Error())}
}

type redacted struct {
	err  error
	text string
}

func (r redacted) Error() string { return r.text }
func (r redacted) Unwrap() error { return r.err }
