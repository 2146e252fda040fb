//go:build linux

package haproxytest

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
	"time"

	"github.com/prompt-improver/unifieddb/internal/daemon"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// ErrNotInstalled is returned by Start when no haproxy binary is found.
var ErrNotInstalled = errors.New("haproxytest: haproxy not found (run scripts/ensure-proxies.sh as root)")

// Server is one PostgreSQL server and its Patroni REST API port.
type Server struct {
	Name     string
	Port     int // PostgreSQL on 127.0.0.1
	RESTPort int // Patroni's REST API on 127.0.0.1
}

// Options configures Start.
type Options struct {
	Servers []Server
	// KeepSessions leaves out on-marked-down shutdown-sessions: connections
	// to a server that failed its check stay open (HAProxy's default, and
	// a common omission in hand-written set-ups).
	KeepSessions bool
	// CheckInterval is HAProxy's `inter` between two health checks of a
	// server; 0 is 500 ms. A server is marked down after two failed checks
	// (fall 2) and up after one good one (rise 1).
	CheckInterval time.Duration
}

// Proxy is one running HAProxy.
type Proxy struct {
	PrimaryPort int // the leader, per GET /primary
	ReplicaPort int // the replicas, round robin, per GET /replica

	dir    string
	proc   *daemon.Process
	stderr strings.Builder
	mu     sync.Mutex // guards stderr

	closeOnce sync.Once
}

// Binary returns the path of haproxy, or ErrNotInstalled.
func Binary() (string, error) { return daemon.Binary("haproxy", ErrNotInstalled) }

// Start writes the configuration and starts HAProxy, and returns once both
// ports accept connections (whether a server is up behind them is the
// caller's to wait for).
func Start(ctx context.Context, o Options) (*Proxy, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if len(o.Servers) == 0 {
		return nil, errors.New("haproxytest: no servers")
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = 500 * time.Millisecond
	}
	user, err := pgcluster.LookupServerUser()
	if err != nil {
		return nil, fmt.Errorf("haproxytest: %w", err)
	}
	p := &Proxy{}
	if p.PrimaryPort, err = pgcluster.ReservePort(); err != nil {
		return nil, fmt.Errorf("haproxytest: %w", err)
	}
	if p.ReplicaPort, err = pgcluster.ReservePort(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("haproxytest: %w", err)
	}
	if p.dir, err = os.MkdirTemp("", "unifieddb-haproxy-*"); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("haproxytest: %w", err)
	}
	cfgPath := filepath.Join(p.dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(p.config(o)), 0o644); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("haproxytest: %w", err)
	}
	for _, path := range []string{cfgPath, p.dir} {
		if err := user.Chown(path); err != nil {
			p.cleanup()
			return nil, fmt.Errorf("haproxytest: %w", err)
		}
	}
	// -db: foreground, no daemon; -W is not needed for one process.
	cmd := exec.Command(bin, "-db", "-f", cfgPath)
	cmd.Dir = p.dir
	cmd.Stdout = &lockedWriter{p}
	cmd.Stderr = &lockedWriter{p}
	if p.proc, err = daemon.Start(cmd, user); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("haproxytest: start haproxy: %w", err)
	}
	for _, port := range []int{p.PrimaryPort, p.ReplicaPort} {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := daemon.WaitAccepting(ctx, "haproxytest: haproxy", addr, p.proc.Exited(), p.Output); err != nil {
			p.Close()
			return nil, err
		}
	}
	// HAProxy takes every server for up until two failed checks (fall 2)
	// say otherwise: until then the primary port may lead to a replica, and
	// shutdown-sessions cuts such a connection when its server is marked
	// down (a client saw "failed SASL auth: unexpected EOF"). Wait for the
	// first verdicts.
	select {
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	case <-time.After(3 * o.CheckInterval):
	}
	return p, nil
}

// config is the haproxy.cfg of Patroni's documentation, on our ports.
func (p *Proxy) config(o Options) string {
	var b strings.Builder
	inter := strconv.FormatInt(o.CheckInterval.Milliseconds(), 10) + "ms"
	fmt.Fprintf(&b, `global
    maxconn 2000

defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s
`)
	for _, l := range []struct {
		name, path string
		port       int
	}{{"primary", "/primary", p.PrimaryPort}, {"replicas", "/replica", p.ReplicaPort}} {
		cut := " on-marked-down shutdown-sessions"
		if o.KeepSessions {
			cut = ""
		}
		fmt.Fprintf(&b, `
listen %s
    bind 127.0.0.1:%d
    balance roundrobin
    option httpchk
    http-check send meth GET uri %s
    http-check expect status 200
    default-server inter %s fall 2 rise 1%s
`, l.name, l.port, l.path, inter, cut)
		for _, s := range o.Servers {
			fmt.Fprintf(&b, "    server %s 127.0.0.1:%d maxconn 1000 check port %d\n", s.Name, s.Port, s.RESTPort)
		}
	}
	return b.String()
}

// Output is what HAProxy printed (warnings, server state changes).
func (p *Proxy) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

type lockedWriter struct{ p *Proxy }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

// PrimaryAddr and ReplicaAddr are "127.0.0.1:PORT".
func (p *Proxy) PrimaryAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.PrimaryPort))
}

func (p *Proxy) ReplicaAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.ReplicaPort))
}

// Close stops HAProxy and removes its directory. It is idempotent.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		p.proc.Stop()
		p.cleanup()
	})
}

func (p *Proxy) cleanup() {
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
	for _, port := range []int{p.PrimaryPort, p.ReplicaPort} {
		if port != 0 {
			pgcluster.ReleasePort(port)
		}
	}
}
