//go:build linux

package daemon

import (
	"os/exec"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// Process is a test server's process (HAProxy, PgBouncer), run as the
// PostgreSQL server user by a pgcluster.Spawner.
type Process struct {
	cmd     *exec.Cmd
	spawner *pgcluster.Spawner
	exited  chan struct{}
}

// Start starts cmd as user and watches for its exit.
func Start(cmd *exec.Cmd, user pgcluster.ServerUser) (*Process, error) {
	cmd.Env = user.Env()
	cmd.SysProcAttr = user.SysProcAttr()
	p := &Process{cmd: cmd, spawner: pgcluster.NewSpawner(), exited: make(chan struct{})}
	if err := p.spawner.Start(cmd); err != nil {
		p.spawner.Close()
		return nil, err
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop kills the process (see Kill) and closes its spawner. nil is a no-op.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	Kill(p.cmd, p.exited)
	p.spawner.Close()
}
