// Package pgcluster runs a throwaway local PostgreSQL cluster — a primary and
// N streaming replicas — for integration tests and the demo.
//
// Every server is a child process of the caller, in its own process group,
// on a free 127.0.0.1 port below the ephemeral range, with its data in a
// temporary directory. Tests can crash (Kill), stop, freeze (Pause), lag
// (PauseReplay), promote and repoint nodes for real. Close removes everything.
// As root, the servers run as the postgres OS user.
package pgcluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	superuser   = "postgres"
	appDatabase = "unifieddb"
	dirPattern  = "unifieddb-pgcluster-*"
	ownerFile   = "owner.pid"
)

// Cluster is a running set of nodes. Close it when done.
type Cluster struct {
	opts        Options
	binDir      string
	runAs       runAs
	dir         string
	password    string
	redact      redactor
	spawner     *spawner
	tlsSettings [][2]string // ssl settings of every node, with Options.TLS
	closed      atomic.Bool

	nodes []*Node // fixed after Start

	closeOnce sync.Once
	closeErr  error
}

// Start creates and starts a primary and opts.Replicas streaming replicas and
// returns once every replica streams (and, with SyncReplica, replica1 is
// synchronous). On error everything made so far is removed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	begin := time.Now()
	if err := supported(); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	who, err := lookupRunAs()
	if err != nil {
		return nil, err
	}
	dir, err := clusterDir(opts)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: start: %w", err)
	}
	c := &Cluster{opts: opts, binDir: binDir, runAs: who, dir: dir, spawner: newSpawner()}
	if err := c.setup(ctx); err != nil {
		_ = c.Close()
		return nil, c.redact.Error(err)
	}
	c.logf("pgcluster: started primary + %d replicas in %s (%s)", opts.Replicas, time.Since(begin).Round(time.Millisecond), dir)
	return c, nil
}

// clusterDir makes the cluster directory: opts.Dir, or a new temporary one
// under opts.BaseDir (after removing stale ones left by dead processes).
func clusterDir(opts Options) (string, error) {
	if opts.Dir != "" {
		return makeEmptyDir(opts.Dir)
	}
	base := opts.BaseDir
	if base == "" {
		base = os.TempDir()
	}
	removeStaleDirs(base, opts.Logf)
	return os.MkdirTemp(base, dirPattern)
}

func (c *Cluster) setup(ctx context.Context) error {
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pgcluster: start: %w", err)
	}
	if err := c.runAs.chown(c.dir); err != nil {
		return fmt.Errorf("pgcluster: start: %w", err)
	}
	if err := c.checkTraversable(); err != nil {
		return err
	}
	pw, err := newPassword()
	if err != nil {
		return fmt.Errorf("pgcluster: start: %w", err)
	}
	c.password, c.redact = pw, redactor{secret: pw}
	if c.opts.TLS {
		if c.tlsSettings, err = c.makeCert(); err != nil {
			return fmt.Errorf("pgcluster: start: %w", err)
		}
	}

	primary, err := newNode(c, "primary")
	if err != nil {
		return err
	}
	c.nodes = append(c.nodes, primary)
	for i := 1; i <= c.opts.Replicas; i++ {
		r, err := newNode(c, "replica"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, r)
	}
	if err := c.initPrimary(ctx, primary); err != nil {
		return err
	}
	replicas := c.nodes[1:]
	if err := parallel(replicas, func(r *Node) error { return c.initReplica(ctx, r, primary) }); err != nil {
		return err
	}
	if c.opts.SyncReplica {
		if err := c.makeSync(ctx, primary, replicas[0]); err != nil {
			return err
		}
	}
	return nil
}

// parallel runs fn for every node at once and returns the errors joined.
func parallel(nodes []*Node, fn func(*Node) error) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = fn(n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close kills every server and its processes, waits until they are reaped and
// removes the cluster directory. It is idempotent; later calls return the
// first call's result.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		var errs []error
		for _, n := range c.nodes {
			if err := n.kill(); err != nil {
				errs = append(errs, err)
			}
		}
		c.spawner.close()
		for _, n := range c.nodes {
			releasePort(n.Port())
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("pgcluster: close: %w", err))
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Dir is the cluster directory (removed by Close).
func (c *Cluster) Dir() string { return c.dir }

// Nodes returns the nodes in creation order: primary, replica1, replica2...
// Roles change with Promote and Repoint; names do not.
func (c *Cluster) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Node returns the node with that name, or nil if there is none.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// User is the superuser name, "postgres".
func (c *Cluster) User() string { return superuser }

// Password is the superuser's random password (24 URL-safe characters).
func (c *Cluster) Password() string { return c.password }

// Database is the app database, "unifieddb".
func (c *Cluster) Database() string { return appDatabase }

// Primary asks every running node whether it is in recovery and returns the
// one that is not. It returns ErrNoPrimary if none is, ErrMultiplePrimaries
// if several are. A node that does not answer within 3 s is skipped.
func (c *Cluster) Primary(ctx context.Context) (*Node, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	var running []*Node
	for _, n := range c.nodes {
		if n.Running() {
			running = append(running, n)
		}
	}
	primaries := make([]bool, len(running))
	_ = parallel(running, func(n *Node) error {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		rec, err := n.InRecovery(qctx)
		if err == nil && !rec {
			for i := range running {
				if running[i] == n {
					primaries[i] = true
				}
			}
		}
		return nil
	})
	var found []*Node
	for i, ok := range primaries {
		if ok {
			found = append(found, running[i])
		}
	}
	switch len(found) {
	case 0:
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoPrimary, err)
		}
		return nil, ErrNoPrimary
	case 1:
		return found[0], nil
	default:
		names := ""
		for i, n := range found {
			if i > 0 {
				names += ", "
			}
			names += n.name
		}
		return nil, fmt.Errorf("%w: %s", ErrMultiplePrimaries, names)
	}
}

func (c *Cluster) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf("%s", c.redact.String(fmt.Sprintf(format, args...)))
	}
}

func newPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// checkTraversable fails early, with a clear message, when the server user
// cannot reach the cluster directory (a root-only 0700 parent such as t.TempDir()).
func (c *Cluster) checkTraversable() error {
	if c.runAs.cred == nil {
		return nil
	}
	for d := filepath.Dir(c.dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgcluster: start: %w", err)
		}
		perm := st.Mode().Perm()
		if perm&0o001 == 0 {
			uid, gid := statOwner(st)
			if !(uid == c.runAs.uid && perm&0o100 != 0) && !(gid == c.runAs.gid && perm&0o010 != 0) {
				return fmt.Errorf("%w: %s (mode %v)", ErrDirNotEnterable, d, perm)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
