//go:build linux

package patronitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotRunning is returned by KillPostgres when n has no live postmaster.
var ErrNotRunning = errors.New("patronitest: postgres not running")

func (c *Cluster) connString(n *Node, db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable connect_timeout=5",
		host, n.Port, superuser, c.password, db)
}

// queryRow runs one query on n's database db and scans its row into dest.
func (c *Cluster) queryRow(ctx context.Context, n *Node, db, q string, dest ...any) error {
	conn, err := pgx.Connect(ctx, c.connString(n, db))
	if err != nil {
		return c.redact(fmt.Errorf("patronitest: %s: %w", n.Name, err))
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, q).Scan(dest...); err != nil {
		return c.redact(fmt.Errorf("patronitest: %s: %w", n.Name, err))
	}
	return nil
}

func (c *Cluster) createAppDatabase(ctx context.Context, leader *Node) error {
	conn, err := pgx.Connect(ctx, c.connString(leader, "postgres"))
	if err != nil {
		return c.redact(fmt.Errorf("patronitest: %s: %w", leader.Name, err))
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+appDatabase); err != nil {
		return fmt.Errorf("patronitest: %s: create database: %w", leader.Name, err)
	}
	// Replicas replay it a moment later; a client started before would take
	// them for dead ("database does not exist").
	for _, n := range c.nodes {
		for {
			var one int
			err := c.queryRow(ctx, n, appDatabase, "SELECT 1", &one)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("patronitest: %s: %s not replicated: %w (last: %w)", n.Name, appDatabase, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// KillPostgres SIGKILLs n's postmaster and its backends; Patroni notices and
// restarts it, or another node takes over. Patroni itself keeps running.
func (c *Cluster) KillPostgres(n *Node) error {
	if c.isClosed() {
		return ErrClosed
	}
	pid := postmasterPID(n)
	if pid == 0 {
		return fmt.Errorf("%w on %s", ErrNotRunning, n.Name)
	}
	return killTree([]int{pid}, 10*time.Second)
}

// KillNode SIGKILLs n's Patroni and then its PostgreSQL, as when the machine
// dies. StartNode brings it back.
func (c *Cluster) KillNode(n *Node) error {
	if c.isClosed() {
		return ErrClosed
	}
	if err := c.killPatroni(n); err != nil {
		return err
	}
	if pid := postmasterPID(n); pid != 0 {
		return killTree([]int{pid}, 10*time.Second)
	}
	return nil
}

// Patronictl runs `patronictl -c <node1's config> args...` as the server
// user and returns its combined output. Add --force to commands that ask
// for confirmation.
func (c *Cluster) Patronictl(ctx context.Context, args ...string) (string, error) {
	if c.isClosed() {
		return "", ErrClosed
	}
	cmd := exec.CommandContext(ctx, "patronictl", append([]string{"-c", c.nodes[0].configPath}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = withoutPython(c.user.Env())
	cmd.SysProcAttr = c.user.SysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := c.spawner.Start(cmd); err != nil {
		return "", fmt.Errorf("patronitest: patronictl: %w", err)
	}
	err := cmd.Wait()
	text := c.redactString(strings.TrimSpace(out.String()))
	if err != nil {
		return text, fmt.Errorf("patronitest: patronictl %s: %w: %s", strings.Join(args, " "), err, text)
	}
	return text, nil
}

// SyncStandby returns the node Patroni reports as synchronous standby, or
// nil when there is none.
func (c *Cluster) SyncStandby(ctx context.Context) (*Node, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range st.Members {
		if m.Role == "sync_standby" {
			return c.Node(m.Name), nil
		}
	}
	return nil, nil
}

// QueryRow runs one query on n's app database and scans its row into dest.
func (c *Cluster) QueryRow(ctx context.Context, n *Node, q string, dest ...any) error {
	return c.queryRow(ctx, n, appDatabase, q, dest...)
}
