package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// runAs is the OS identity the server binaries run under. PostgreSQL refuses
// to run as root, so as root we switch to the postgres user.
type runAs struct {
	cred credential // nil: run as ourselves
	uid  int
	gid  int
	home string
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
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = 5 * time.Second
	if err := c.spawner.start(cmd); err != nil {
		return "", c.redact.Error(fmt.Errorf("pgcluster: %s: %w", name, err))
	}
	err := cmd.Wait()
	// The group may outlive its leader (a child of pg_rewind); do not leave it behind.
	if groupAlive(cmd.Process.Pid) {
		_ = killGroup(cmd.Process.Pid)
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
