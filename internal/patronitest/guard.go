//go:build linux

package patronitest

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// guardScript waits until its stdin (a pipe only this process writes to)
// reaches EOF, which happens when this process dies, then SIGKILLs the
// cluster's postmasters and removes the directory. Patroni itself dies with
// us (Pdeathsig), but it starts each postmaster detached from itself, so
// nothing else would stop them. The second's pause lets a Patroni that was
// starting a postmaster die first. Close kills the guard instead.
const guardScript = `while read -r _; do :; done
sleep 1
for f in "$1"/node*/data/postmaster.pid; do
	[ -f "$f" ] && kill -9 "$(head -n 1 "$f")" 2>/dev/null
done
rm -rf -- "$1"
exit 0`

type guard struct {
	cmd *exec.Cmd
	w   *os.File
}

// startGuard starts the guard in a process group of its own (a Ctrl-C to
// the test's group must not end it first) and without Pdeathsig.
func startGuard(dir string) (*guard, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("patronitest: guard: %w", err)
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", guardScript, "patronitest-guard", dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("patronitest: guard: %w", err)
	}
	return &guard{cmd: cmd, w: w}, nil
}

// stop kills the guard (Close has done its work) and reaps it.
func (g *guard) stop() {
	_ = g.cmd.Process.Kill()
	_ = g.cmd.Wait()
	_ = g.w.Close()
}
