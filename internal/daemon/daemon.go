//go:build linux

package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Binary returns the path of the program name: on PATH, or in /usr/sbin
// (where Debian puts haproxy and pgbouncer, often not on a user's PATH).
// notFound is returned when it is in neither.
func Binary(name string, notFound error) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p, nil
	}
	return "", notFound
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// WaitAccepting waits, up to 30 s, until addr accepts a TCP connection.
// It fails at once when exited is closed (the process died at start);
// output, called only then, says what the process printed.
func WaitAccepting(ctx context.Context, name, addr string, exited <-chan struct{}, output func() string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited at start: %s", name, output())
		case <-ctx.Done():
			return fmt.Errorf("%s not accepting on %s: %w (%s)", name, addr, ctx.Err(), output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Kill SIGKILLs cmd's process group (nothing of a test server is kept) and
// waits up to 10 s for exited to close.
func Kill(cmd *exec.Cmd, exited <-chan struct{}) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}
