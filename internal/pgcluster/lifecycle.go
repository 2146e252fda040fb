package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// groupGoneTimeout bounds the wait for a killed server's processes to vanish.
const groupGoneTimeout = 10 * time.Second

// Start starts the node's server on its port and waits until it answers
// SELECT 1. Starting a running node does nothing. A stale postmaster.pid left
// by a crash is removed first.
func (n *Node) Start(ctx context.Context) error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return n.start(ctx)
}

// Stop shuts the server down cleanly (fast shutdown: SIGINT) and waits for it
// to exit. If ctx ends first the server is killed and ctx's error returned.
// Stopping a stopped node does nothing.
func (n *Node) Stop(ctx context.Context) error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return n.stop(ctx)
}

// Kill crashes the node: SIGKILL to the postmaster and all its processes,
// then waits until the postmaster is reaped and no process of the node is
// left. Killing a stopped node does nothing.
func (n *Node) Kill() error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return n.kill()
}

// Pause freezes the node (SIGSTOP to every process of the server): it accepts
// TCP connections but never answers, like a hung host. Undo with Resume; Stop
// and Kill work on a paused node.
func (n *Node) Pause() error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return n.signalGroup("pause", sigStop, true)
}

// Resume continues a node frozen by Pause.
func (n *Node) Resume() error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return n.signalGroup("resume", sigCont, false)
}

func (n *Node) signalGroup(op string, sig syscall.Signal, paused bool) error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil || p.exited() {
		return n.errorf(op, ErrNotRunning)
	}
	// Backends are not in the postmaster's process group (PostgreSQL calls
	// setsid in every child): signal them one by one, or a "hung" node would
	// keep answering on its open connections.
	if err := signalTree(p.pid, sig); err != nil {
		return n.errorf(op, err)
	}
	if sig == sigStop {
		// Signals are delivered asynchronously; return once the postmaster is stopped.
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if st, _, _, ok := procState(p.pid); !ok || st == "T" || st == "t" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	n.mu.Lock()
	n.paused = paused
	n.mu.Unlock()
	return nil
}

func (n *Node) current() *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

func (n *Node) kill() error {
	n.mu.Lock()
	p := n.proc
	cleaned := p == nil || p.cleaned
	n.mu.Unlock()
	if cleaned {
		return nil
	}
	var kids []int
	if !p.exited() { // not reaped yet, so the pid cannot have been reused
		// A crash takes every process of the server at once: backends too,
		// which are not in the postmaster's process group.
		kids = children(p.pid)
		_ = signalTree(p.pid, sigKill)
	}
	select {
	case <-p.done:
	case <-time.After(groupGoneTimeout):
		return n.errorf("kill", fmt.Errorf("postmaster %d not reaped after %s", p.pid, groupGoneTimeout))
	}
	if err := waitGroupGone(p.pid, groupGoneTimeout); err != nil {
		return n.errorf("kill", err)
	}
	if err := waitPidsGone(kids, groupGoneTimeout); err != nil {
		return n.errorf("kill", err)
	}
	n.mu.Lock()
	p.cleaned = true
	n.paused = false
	n.mu.Unlock()
	return nil
}

func (n *Node) stop(ctx context.Context) error {
	p := n.current()
	if p == nil || p.exited() {
		return n.kill() // reap leftovers of a crashed run, if any
	}
	if n.Paused() {
		_ = continueGroup(p.pid)
	}
	if err := interrupt(p.pid); err != nil {
		return n.errorf("stop", err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = n.kill()
		return n.errorf("stop", fmt.Errorf("killed after %w", ctx.Err()))
	}
	return n.kill() // waits for any straggler of the group
}

// start runs the postmaster as our child and waits until it is ready. On the
// node's first start a port taken meanwhile by someone else is replaced.
func (n *Node) start(ctx context.Context) error {
	if n.c.closed.Load() {
		return ErrClosed
	}
	if n.Running() {
		return nil
	}
	if err := n.kill(); err != nil { // previous run: make sure nothing is left
		return err
	}
	for attempt := 0; ; attempt++ {
		logOffset := n.logSize()
		err := n.startOnce(ctx)
		if err == nil {
			n.mu.Lock()
			n.started = true
			n.mu.Unlock()
			return nil
		}
		n.mu.Lock()
		fixed := n.started
		n.mu.Unlock()
		if fixed || attempt >= 3 || !portTaken(n.logSince(logOffset)) {
			return err
		}
		port, perr := reservePort()
		if perr != nil {
			return err
		}
		n.mu.Lock()
		old := n.port
		n.port = port
		n.mu.Unlock()
		releasePort(old)
		n.c.logf("pgcluster: %s: port %d taken, retrying on %d", n.name, old, port)
	}
}

func portTaken(log string) bool {
	return strings.Contains(log, "could not bind") || strings.Contains(log, "could not create any TCP/IP sockets")
}

func (n *Node) startOnce(ctx context.Context) error {
	if err := n.removeStalePid(); err != nil {
		return n.errorf("start", err)
	}
	logFile, err := os.OpenFile(n.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return n.errorf("start", err)
	}
	cmd := exec.Command(filepath.Join(n.c.binDir, "postgres"), "-D", n.dataDir,
		"-c", "port="+strconv.Itoa(n.Port()),
		"-c", "unix_socket_directories="+quoteListItem(n.dir))
	cmd.Dir = n.dir
	cmd.Env = n.c.runAs.env()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = n.c.runAs.sysProcAttr()
	if n.c.opts.Detach {
		cmd.SysProcAttr = n.c.runAs.detachedProcAttr()
	}
	err = n.c.spawner.start(cmd)
	_ = logFile.Close() // the child has its own descriptor
	if err != nil {
		return n.errorf("start", err)
	}
	p := &proc{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { // reaper: no zombie postmasters, and p.done tells us it died
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.mu.Lock()
	n.proc = p
	n.paused = false
	n.mu.Unlock()
	if n.c.closed.Load() { // Close ran while we were spawning
		_ = n.kill()
		return ErrClosed
	}
	if err := n.waitReady(ctx, p); err != nil {
		_ = n.kill()
		return n.withLog(n.errorf("start", err))
	}
	return nil
}

// waitReady polls a real connection until the server answers SELECT 1.
func (n *Node) waitReady(ctx context.Context, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, n.c.opts.startTimeout())
	defer cancel()
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("postmaster exited during startup: %v", p.err)
		}
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		last = n.withConn(actx, "postgres", func(conn *pgx.Conn) error {
			var one int
			return conn.QueryRow(actx, "SELECT 1").Scan(&one)
		})
		acancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last error: %v)", ctx.Err(), last)
		case <-p.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// removeStalePid deletes postmaster.pid when the process it names is not a
// live postgres. A SIGKILLed postmaster that is still a zombie, or whose pid
// was reused, would otherwise make the next start refuse or wait.
func (n *Node) removeStalePid() error {
	path := filepath.Join(n.dataDir, "postmaster.pid")
	pid, err := ReadPID(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if pid > 0 && pidAlive(pid) {
		if _, _, comm, _ := procState(pid); comm == "postgres" || comm == "postmaster" {
			return fmt.Errorf("postmaster.pid names live process %d: another server uses %s", pid, n.dataDir)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// quoteListItem quotes a directory for a list setting if it needs it.
func quoteListItem(s string) string {
	if strings.ContainsAny(s, " ,\"'\t") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
