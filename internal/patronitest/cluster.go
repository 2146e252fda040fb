//go:build linux

package patronitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

const (
	host            = "127.0.0.1"
	superuser       = "postgres"
	replicationUser = "replicator"
	appDatabase     = "unifieddb"
	dirPattern      = "unifieddb-patroni-*"
	ownerFile       = "owner.pid"
	nodeCount       = 3
)

// ErrClosed is returned by operations on a closed cluster.
var ErrClosed = errors.New("patronitest: cluster closed")

// Options configures Start. The zero value is usable.
type Options struct {
	// SynchronousMode turns on Patroni's synchronous_mode: one replica is a
	// synchronous standby, and only it may be promoted.
	SynchronousMode bool
	// BinDir holds the PostgreSQL server binaries; "" finds them as pgcluster does.
	BinDir string
	// BaseDir is where the cluster directory is made; "" is os.TempDir().
	// As root it must be traversable by the postgres OS user.
	BaseDir string
	// Logf, if set, receives progress messages. Passwords never appear in them.
	Logf func(format string, args ...any)
	// StartTimeout bounds Start's wait for a leader and two streaming
	// replicas; 0 is 3 minutes.
	StartTimeout time.Duration
	// Parameters are PostgreSQL settings for every node, over the
	// defaults (max_connections 200...): the soak loads
	// pg_stat_statements (shared_preload_libraries) to count probes.
	Parameters map[string]any
}

// Node is one Patroni + PostgreSQL. Its name and ports never change.
type Node struct {
	Name     string // node1, node2, node3
	Host     string // 127.0.0.1
	Port     int    // PostgreSQL
	RESTPort int    // Patroni's REST API

	raftPort   int
	dir        string
	dataDir    string
	configPath string
	logPath    string

	mu      sync.Mutex
	patroni *exec.Cmd     // nil when not running
	exited  chan struct{} // closed when patroni has been reaped
}

// Addr is "127.0.0.1:PORT" of PostgreSQL.
func (n *Node) Addr() string { return addr(n.Port) }

// Cluster is a running Patroni cluster. Close it when done.
type Cluster struct {
	opts     Options
	binDir   string
	user     pgcluster.ServerUser
	spawner  *pgcluster.Spawner
	dir      string
	scope    string
	password string
	nodes    []*Node
	ports    []int
	guard    *guard // nil until setup starts it

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Start creates three nodes, starts their Patronis and returns once the REST
// API reports a leader and two streaming replicas (with SynchronousMode, one
// of them the synchronous standby) and the app database exists. On error
// everything made so far is removed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	begin := time.Now()
	if _, err := exec.LookPath("patroni"); err != nil {
		return nil, fmt.Errorf("patronitest: %w (run scripts/ensure-patroni.sh)", err)
	}
	binDir, err := pgcluster.FindBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	if missing := pgcluster.MissingTools(binDir); len(missing) > 0 {
		// Patroni clones and rewinds with them.
		return nil, fmt.Errorf("patronitest: %s lacks %s: %w", binDir, strings.Join(missing, ", "), pgcluster.ErrNoServerBinaries)
	}
	user, err := pgcluster.LookupServerUser()
	if err != nil {
		return nil, err
	}
	base := opts.BaseDir
	if base == "" {
		base = os.TempDir()
	}
	removeStale(base, opts.Logf)
	dir, err := os.MkdirTemp(base, dirPattern)
	if err != nil {
		return nil, fmt.Errorf("patronitest: start: %w", err)
	}
	c := &Cluster{opts: opts, binDir: binDir, user: user, spawner: pgcluster.NewSpawner(), dir: dir, closed: make(chan struct{})}
	if err := c.setup(ctx); err != nil {
		return nil, errors.Join(c.redact(err), c.Close())
	}
	c.logf("patronitest: 3 nodes up in %s (%s)", time.Since(begin).Round(time.Millisecond), dir)
	return c, nil
}

func (c *Cluster) setup(ctx context.Context) error {
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("patronitest: start: %w", err)
	}
	if err := c.user.Chown(c.dir); err != nil {
		return fmt.Errorf("patronitest: start: %w", err)
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("patronitest: start: %w", err)
	}
	g, err := startGuard(c.dir)
	if err != nil {
		return err
	}
	c.guard = g
	c.password = hex.EncodeToString(b[:])
	c.scope = "unifieddb-" + hex.EncodeToString(b[:3])
	for i := 1; i <= nodeCount; i++ {
		n := &Node{Name: "node" + strconv.Itoa(i), Host: host}
		for _, p := range []*int{&n.Port, &n.RESTPort, &n.raftPort} {
			port, err := pgcluster.ReservePort()
			if err != nil {
				return err
			}
			c.ports = append(c.ports, port)
			*p = port
		}
		n.dir = filepath.Join(c.dir, n.Name)
		n.dataDir = filepath.Join(n.dir, "data")
		n.configPath = filepath.Join(n.dir, "patroni.yml")
		n.logPath = filepath.Join(n.dir, "patroni.log")
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if err := os.Mkdir(n.dir, 0o700); err != nil {
			return fmt.Errorf("patronitest: start: %w", err)
		}
		if err := c.user.Chown(n.dir); err != nil {
			return fmt.Errorf("patronitest: start: %w", err)
		}
		conf, err := c.config(n)
		if err != nil {
			return err
		}
		if err := os.WriteFile(n.configPath, conf, 0o600); err != nil {
			return fmt.Errorf("patronitest: start: %w", err)
		}
		if err := c.user.Chown(n.configPath); err != nil {
			return fmt.Errorf("patronitest: start: %w", err)
		}
	}
	for _, n := range c.nodes {
		if err := c.startPatroni(n); err != nil {
			return err
		}
	}
	timeout := c.opts.StartTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	leader, err := c.WaitHealthy(wctx)
	if err != nil {
		return err
	}
	return c.createAppDatabase(wctx, leader)
}

// StartNode starts n's Patroni again after KillNode; Patroni then starts
// its PostgreSQL (rewinding or re-cloning it as needed).
func (c *Cluster) StartNode(n *Node) error { return c.startPatroni(n) }

func (c *Cluster) startPatroni(n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.patroni != nil {
		return fmt.Errorf("patronitest: %s: patroni already running", n.Name)
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("patronitest: %s: %w", n.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command("patroni", n.configPath)
	cmd.Dir = n.dir
	// PYTHON* variables of a pyenv or virtualenv would hide Debian's modules.
	cmd.Env = withoutPython(c.user.Env())
	cmd.SysProcAttr = c.user.SysProcAttr()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := c.spawner.Start(cmd); err != nil {
		return fmt.Errorf("patronitest: %s: start patroni: %w", n.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	n.patroni, n.exited = cmd, exited
	return nil
}

// Nodes returns node1, node2, node3.
func (c *Cluster) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Node returns the node with that name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// User is the superuser, "postgres".
func (c *Cluster) User() string { return superuser }

// Password is the superuser's random password.
func (c *Cluster) Password() string { return c.password }

// Database is the app database, "unifieddb".
func (c *Cluster) Database() string { return appDatabase }

// Dir is the cluster directory (removed by Close).
func (c *Cluster) Dir() string { return c.dir }

// DSN is a keyword/value connection string to n's app database. It contains
// the password: do not log it.
func (c *Cluster) DSN(n *Node) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable connect_timeout=5",
		host, n.Port, superuser, c.password, appDatabase)
}

// Close kills every Patroni and PostgreSQL of the cluster, waits until they
// are gone and removes the cluster directory. Idempotent.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		var errs []error
		for _, n := range c.nodes {
			if err := c.killPatroni(n); err != nil {
				errs = append(errs, err)
			}
		}
		c.spawner.Close()
		if err := killByDir(c.dir, 20*time.Second); err != nil {
			errs = append(errs, err)
		}
		if c.guard != nil {
			c.guard.stop()
		}
		for _, p := range c.ports {
			pgcluster.ReleasePort(p)
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("patronitest: close: %w", err))
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

func (c *Cluster) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *Cluster) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf("%s", c.redactString(fmt.Sprintf(format, args...)))
	}
}
