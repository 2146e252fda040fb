package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Node is one PostgreSQL server of a Cluster. Its name and port never change;
// its role does (Promote, Repoint). Methods are safe for concurrent use;
// lifecycle methods (Start, Stop, Kill, Promote, Repoint, Pause, Resume) of one
// node run one at a time.
type Node struct {
	c       *Cluster
	name    string
	dir     string // socket directory and server log
	dataDir string
	logPath string

	opMu sync.Mutex // serialises lifecycle operations on this node

	mu      sync.Mutex
	port    int
	started bool  // started once: the port is now fixed
	proc    *proc // last postmaster we started; nil if never
	paused  bool
}

// proc is one postmaster run. done is closed once Wait has reaped it.
type proc struct {
	pid  int
	done chan struct{}
	err  error // Wait's result; read after done is closed

	cleaned bool // group known gone: never signal this pid again (guarded by Node.mu)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

const host = "127.0.0.1"

// Name is "primary", "replica1", "replica2"... as created; it does not follow promotions.
func (n *Node) Name() string { return n.name }

// Host is always "127.0.0.1".
func (n *Node) Host() string { return host }

// Port is the node's TCP port; it stays the same across restarts.
func (n *Node) Port() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.port
}

// Addr is "127.0.0.1:PORT".
func (n *Node) Addr() string { return net.JoinHostPort(host, strconv.Itoa(n.Port())) }

// DSN is a keyword/value connection string for the app database, with the
// cluster's user and password, sslmode=disable and connect_timeout=5.
// It contains the password: do not log it.
func (n *Node) DSN() string { return n.dsn(n.c.Database()) }

func (n *Node) dsn(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable connect_timeout=5",
		host, n.Port(), n.c.User(), n.c.password, dbname)
}

// DataDir is the node's PGDATA, for tests that need to look at files.
func (n *Node) DataDir() string { return n.dataDir }

// LogPath is the node's server log file (the server's stderr).
func (n *Node) LogPath() string { return n.logPath }

// Running reports whether the node's postmaster is alive (a paused node is running).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc != nil && !n.proc.exited()
}

// Paused reports whether the node is stopped by Pause.
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused && n.proc != nil && !n.proc.exited()
}

// Exec runs sql (several statements when there are no args) on the app
// database over a one-off connection.
func (n *Node) Exec(ctx context.Context, sql string, args ...any) error {
	return n.withConn(ctx, n.c.Database(), func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
}

// QueryInt runs a query returning one integer column in one row on the app
// database over a one-off connection. NULL is an error.
func (n *Node) QueryInt(ctx context.Context, sql string, args ...any) (int64, error) {
	var v int64
	err := n.withConn(ctx, n.c.Database(), func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, sql, args...).Scan(&v)
	})
	return v, err
}

// InRecovery reports pg_is_in_recovery(): true for a standby.
func (n *Node) InRecovery(ctx context.Context) (bool, error) {
	var v bool
	err := n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&v)
	})
	return v, err
}

// withConn opens a connection to dbname, runs fn and closes it. Errors are
// wrapped with the node name and have the password removed.
func (n *Node) withConn(ctx context.Context, dbname string, fn func(*pgx.Conn) error) error {
	if n.c.closed.Load() {
		return ErrClosed
	}
	cfg, err := pgx.ParseConfig(n.dsn(dbname))
	if err != nil {
		return n.c.redact.Error(fmt.Errorf("pgcluster: %s: parse dsn: %w", n.name, err))
	}
	cfg.RuntimeParams["application_name"] = "pgcluster"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return n.c.redact.Error(fmt.Errorf("pgcluster: %s: connect: %w", n.name, err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if err := fn(conn); err != nil {
		return n.c.redact.Error(fmt.Errorf("pgcluster: %s: %w", n.name, err))
	}
	return nil
}

// LogTail returns the last lines of the node's server log, password removed.
func (n *Node) LogTail(lines int) string {
	f, err := os.Open(n.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 256 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-maxRead, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if lines > 0 && len(all) > lines {
		all = all[len(all)-lines:]
	}
	return n.c.redact.String(strings.Join(all, "\n"))
}

// logSize is the current size of the server log: an offset for logSince.
func (n *Node) logSize() int64 {
	st, err := os.Stat(n.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince returns the server log written after offset.
func (n *Node) logSince(offset int64) string {
	f, err := os.Open(n.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<30))
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	return string(b)
}

func (n *Node) errorf(op string, err error) error {
	return n.c.redact.Error(fmt.Errorf("pgcluster: %s %s: %w", op, n.name, err))
}

// withLog adds the tail of the server log to err.
func (n *Node) withLog(err error) error {
	return fmt.Errorf("%w\n--- %s server log (tail) ---\n%s", err, n.name, n.LogTail(30))
}

func newNode(c *Cluster, name string) (*Node, error) {
	dir := filepath.Join(c.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgcluster: node %s: %w", name, err)
	}
	if err := c.runAs.chown(dir); err != nil {
		return nil, fmt.Errorf("pgcluster: node %s: %w", name, err)
	}
	port, err := reservePort()
	if err != nil {
		return nil, err
	}
	return &Node{
		c: c, name: name, dir: dir, port: port,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log"),
	}, nil
}
