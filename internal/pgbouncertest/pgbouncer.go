//go:build linux

package pgbouncertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/prompt-improver/unifieddb/internal/daemon"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// ErrNotInstalled is returned by Start when no pgbouncer binary is found.
var ErrNotInstalled = errors.New("pgbouncertest: pgbouncer not found (run scripts/ensure-proxies.sh as root)")

// Options configures Start.
type Options struct {
	// Backend is the PostgreSQL server's 127.0.0.1 port. Required.
	Backend int
	// Database, User and Password are what clients log in with; PgBouncer
	// uses the same to log in to the server. Required.
	Database, User, Password string
	// PoolSize is PgBouncer's default_pool_size; 0 is 20.
	PoolSize int
}

// Bouncer is one running PgBouncer.
type Bouncer struct {
	port    int
	dir     string
	logPath string
	proc    *daemon.Process

	closeOnce sync.Once
}

// Binary returns the path of pgbouncer, or ErrNotInstalled.
func Binary() (string, error) { return daemon.Binary("pgbouncer", ErrNotInstalled) }

// Start writes the configuration and starts PgBouncer, and returns once it
// accepts connections.
func Start(ctx context.Context, o Options) (*Bouncer, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if o.Backend == 0 || o.Database == "" || o.User == "" {
		return nil, errors.New("pgbouncertest: Backend, Database and User are required")
	}
	if o.PoolSize == 0 {
		o.PoolSize = 20
	}
	user, err := pgcluster.LookupServerUser()
	if err != nil {
		return nil, fmt.Errorf("pgbouncertest: %w", err)
	}
	port, err := pgcluster.ReservePort()
	if err != nil {
		return nil, fmt.Errorf("pgbouncertest: %w", err)
	}
	b := &Bouncer{port: port}
	if b.dir, err = os.MkdirTemp("", "unifieddb-pgbouncer-*"); err != nil {
		pgcluster.ReleasePort(port)
		return nil, fmt.Errorf("pgbouncertest: %w", err)
	}
	b.logPath = filepath.Join(b.dir, "pgbouncer.log")
	if err := b.writeFiles(o, user); err != nil {
		b.cleanup()
		return nil, err
	}
	cmd := exec.Command(bin, filepath.Join(b.dir, "pgbouncer.ini"))
	cmd.Dir = b.dir
	if b.proc, err = daemon.Start(cmd, user); err != nil {
		b.cleanup()
		return nil, fmt.Errorf("pgbouncertest: start pgbouncer: %w", err)
	}
	if err := daemon.WaitAccepting(ctx, "pgbouncertest: pgbouncer", b.Addr(), b.proc.Exited(), b.logTail); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// writeFiles writes pgbouncer.ini and the user list (mode 0600, owned by
// the server user: it holds the password).
func (b *Bouncer) writeFiles(o Options, user pgcluster.ServerUser) error {
	ini := fmt.Sprintf(`[databases]
%s = host=127.0.0.1 port=%d dbname=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 1000
server_tls_sslmode = disable
logfile = %s
pidfile = %s
`, o.Database, o.Backend, o.Database, b.port, filepath.Join(b.dir, "userlist.txt"), o.PoolSize,
		b.logPath, filepath.Join(b.dir, "pgbouncer.pid"))
	users := fmt.Sprintf("%q %q\n", o.User, o.Password)
	files := []struct {
		name, text string
	}{{"pgbouncer.ini", ini}, {"userlist.txt", users}}
	for _, f := range files {
		p := filepath.Join(b.dir, f.name)
		if err := os.WriteFile(p, []byte(f.text), 0o600); err != nil {
			return fmt.Errorf("pgbouncertest: %w", err)
		}
		if err := user.Chown(p); err != nil {
			return fmt.Errorf("pgbouncertest: %w", err)
		}
	}
	if err := user.Chown(b.dir); err != nil {
		return fmt.Errorf("pgbouncertest: %w", err)
	}
	return nil
}

// logTail is the end of PgBouncer's log, which never holds the password.
func (b *Bouncer) logTail() string {
	data, _ := os.ReadFile(b.logPath)
	s := strings.TrimSpace(string(data))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// Log returns PgBouncer's log so far.
func (b *Bouncer) Log() string {
	data, _ := os.ReadFile(b.logPath)
	return string(data)
}

// Port is the port PgBouncer listens on.
func (b *Bouncer) Port() int { return b.port }

// Addr is "127.0.0.1:PORT".
func (b *Bouncer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Close stops PgBouncer (SIGKILL: nothing of it is kept) and removes its
// directory. It is idempotent.
func (b *Bouncer) Close() {
	b.closeOnce.Do(func() {
		b.proc.Stop()
		b.cleanup()
	})
}

func (b *Bouncer) cleanup() {
	os.RemoveAll(b.dir)
	pgcluster.ReleasePort(b.port)
}
