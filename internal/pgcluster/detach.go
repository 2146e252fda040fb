package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// makeEmptyDir creates dir (and its parents), or accepts it when it exists
// and is empty, and returns its absolute path.
func makeEmptyDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", err
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("%s is not empty", abs)
	}
	return abs, nil
}

// Release lets the cluster go without stopping its servers, which keep
// running when they were started with Options.Detach (otherwise they die
// with this process). The directory stays; StopDir stops the servers and
// RemoveAll the directory later. After Release, Close does nothing.
func (c *Cluster) Release() {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.spawner.close()
		for _, n := range c.nodes {
			releasePort(n.Port())
		}
	})
}

// Postmaster is a server found by its postmaster.pid in a cluster directory.
type Postmaster struct {
	Name    string // the node directory: "primary", "replica1"...
	DataDir string
	PID     int
	Port    int // 0 when postmaster.pid does not say
}

// Postmasters lists the live servers of the cluster directory dir (made by
// Start, possibly by another process): those whose postmaster.pid names a
// live postgres process. A pid file left by a crash, or naming a pid reused
// by another program, is skipped.
func Postmasters(dir string) []Postmaster {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "data", "postmaster.pid"))
	var out []Postmaster
	for _, f := range files {
		pid, err := ReadPID(f)
		if err != nil || !isPostgres(pid) {
			continue
		}
		dataDir := filepath.Dir(f)
		out = append(out, Postmaster{
			Name: filepath.Base(filepath.Dir(dataDir)), DataDir: dataDir, PID: pid, Port: pidFilePort(f),
		})
	}
	return out
}

// isPostgres reports whether pid is a live postgres (or postmaster) process.
func isPostgres(pid int) bool {
	if !pidAlive(pid) {
		return false
	}
	_, _, comm, _ := procState(pid)
	return comm == "postgres" || comm == "postmaster"
}

// pidFilePort is the port on line 4 of postmaster.pid, or 0.
func pidFilePort(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var lines [4]string
	n := 0
	for start, i := 0, 0; i < len(b) && n < 4; i++ {
		if b[i] == '\n' {
			lines[n] = string(b[start:i])
			n++
			start = i + 1
		}
	}
	var port int
	if n == 4 {
		_, _ = fmt.Sscanf(lines[3], "%d", &port)
	}
	return port
}

// StopDir stops every live server of the cluster directory dir, from any
// process: a fast shutdown (SIGINT), then SIGKILL to the server and its
// processes if it has not exited when ctx ends or after 30 s. It returns
// once none is left. The directory is not removed.
func StopDir(ctx context.Context, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pms := Postmasters(dir)
	var kids []int
	for _, pm := range pms {
		kids = append(kids, children(pm.PID)...)
		if err := interrupt(pm.PID); err != nil {
			return fmt.Errorf("pgcluster: stop %s: %w", pm.Name, err)
		}
	}
	for _, pm := range pms {
		for pidAlive(pm.PID) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	var errs []error
	for _, pm := range pms {
		if pidAlive(pm.PID) {
			kids = append(kids, children(pm.PID)...)
			_ = signalTree(pm.PID, sigKill)
		}
		if err := waitPidsGone([]int{pm.PID}, groupGoneTimeout); err != nil {
			errs = append(errs, fmt.Errorf("pgcluster: stop %s: %w", pm.Name, err))
		}
	}
	if err := waitPidsGone(kids, groupGoneTimeout); err != nil {
		errs = append(errs, fmt.Errorf("pgcluster: stop: %w", err))
	}
	return errors.Join(errs...)
}
