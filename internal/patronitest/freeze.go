//go:build linux

package patronitest

import (
	"errors"
	"fmt"
	"syscall"
)

// Freeze SIGSTOPs n's postmaster and its backends, as a hung machine or VM
// looks from the network: connections are accepted by the kernel and never
// answered. Patroni itself keeps running. Thaw (the returned func) sends
// SIGCONT to the same processes; call it exactly once.
func (c *Cluster) Freeze(n *Node) (thaw func() error, err error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	pid := postmasterPID(n)
	if pid == 0 {
		return nil, fmt.Errorf("%w on %s", ErrNotRunning, n.Name)
	}
	pids := append([]int{pid}, children(pid)...)
	var errs []error
	for _, p := range pids {
		if err := syscall.Kill(p, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("patronitest: SIGSTOP %d: %w", p, err))
		}
	}
	thaw = func() error {
		var errs []error
		for _, p := range pids {
			if err := syscall.Kill(p, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("patronitest: SIGCONT %d: %w", p, err))
			}
		}
		return errors.Join(errs...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, thaw())
	}
	return thaw, nil
}
