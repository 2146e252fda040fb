package cluster

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// connSet tracks a node's open client sockets, so that when the node hangs
// (SIGSTOP, a frozen VM) the statements stuck on it can be failed at once by
// closing their sockets, and retried elsewhere where that is safe. It costs a
// map entry per connection, nothing per statement.
type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	epoch atomic.Int64 // see epoch.go
}

type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
	peek *peeker // nil where the platform has no non-blocking peek
	// epoch is the node's epoch when the socket was dialled (see epoch.go).
	epoch int64

	// sentAt is when something was written that the server has not answered
	// yet (monoNanos, 0: nothing awaited): a statement sent into a node that
	// went silent shows here without any timer per statement.
	sentAt atomic.Int64

	// due: the pool handed the connection out again and its stale-socket
	// check is deferred to the first thing sent (Options.DeferDeadCheck).
	// Only the goroutine that holds the connection touches it: database/sql
	// hands a connection to one at a time.
	due bool
}

// Write notes when the server starts to owe an answer.
func (c *trackedConn) Write(b []byte) (int, error) {
	if c.sentAt.Load() == 0 {
		c.sentAt.Store(monoNanos())
	}
	return c.Conn.Write(b)
}

// Read clears the debt when the server answers.
func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.sentAt.Load() != 0 {
		c.sentAt.Store(0)
	}
	return n, err
}

// dead reports, without blocking, without taking any lock of the socket and
// without sending anything, whether the server side of an idle pooled
// connection is gone: the kernel already holds its EOF or reset (the server
// process died), or unsolicited data (such as a FATAL before it closed).
// Checked before a pooled connection is reused for a write, it turns "sent
// into a dead socket, outcome unknown" into "not sent, retried".
//
// It must not take the socket's read lock: pgx's background reader (started
// when a write is slow to send) may still sit in a blocking Read on this idle
// connection, holding that lock until data arrives, which may be never.
func (c *trackedConn) dead() bool {
	if c.peek == nil {
		return false
	}
	return c.peek.dead()
}

// Close closes the socket once. The plugin may close it first (closeAll);
// the driver's own Close afterwards is then a no-op, not an error.
func (c *trackedConn) Close() error {
	var err error
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// wrap returns a dial function that tracks what dial opens.
func (s *connSet) wrap(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		epoch := s.epoch.Load() // before dialling: the socket is at least this old
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s, peek: newPeeker(c), epoch: epoch}
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[*trackedConn]struct{}{}
		}
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		return tc, nil
	}
}

// stalledSince returns the oldest time (monoNanos) at which a socket sent
// something the server has not answered yet, or 0.
func (s *connSet) stalledSince() int64 {
	var oldest int64
	s.mu.Lock()
	for c := range s.conns {
		if at := c.sentAt.Load(); at != 0 && (oldest == 0 || at < oldest) {
			oldest = at
		}
	}
	s.mu.Unlock()
	return oldest
}

// closeAll closes every tracked socket; their statements fail with a
// connection error and the pools discard them.
func (s *connSet) closeAll() int {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// shouldPing is pgx's hook before a pooled connection is reused: ping (and so
// discard, if the server is gone) when it idled over a second, as pgx does by
// default, or when its socket shows the server is gone.
func shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	if p.IdleDuration > time.Second {
		return true
	}
	if tc := tracked(p.Conn.PgConn().Conn()); tc != nil {
		return tc.dead()
	}
	return false
}

// shouldPingLater is shouldPing with the socket check deferred: the pool's
// connection (Options.Connector) runs it through Reused before it sends
// anything, and skips it for a statement that is retried on another
// connection anyway (a model read). The check costs a system call (a
// recv(MSG_PEEK) of 600-700 ns) per reuse, 2% of a point select's client CPU
// under load (issue 21). A connection idle over a second is still pinged.
func shouldPingLater(_ context.Context, p stdlib.ShouldPingParams) bool {
	if p.IdleDuration > time.Second {
		return true
	}
	if tc := tracked(p.Conn.PgConn().Conn()); tc != nil {
		tc.due = true
	}
	return false
}

// Reused is one connection's deferred stale-socket check (see
// Options.DeferDeadCheck). Its zero value checks nothing.
type Reused struct{ tc *trackedConn }

// ReusedOf finds the plugin's socket under c (pgx's PgConn().Conn()).
func ReusedOf(c net.Conn) Reused { return Reused{tracked(c)} }

// Due reports whether the pool deferred the check of this reuse.
func (r Reused) Due() bool { return r.tc != nil && r.tc.due }

// Take reports whether the pool deferred the check of this reuse, and ends
// the deferral: the caller checks now (Dead) or skips it.
func (r Reused) Take() bool {
	if r.tc == nil || !r.tc.due {
		return false
	}
	r.tc.due = false
	return true
}

// Dead reports whether the server side of the connection is gone (see
// trackedConn.dead): one non-blocking system call.
func (r Reused) Dead() bool { return r.tc != nil && r.tc.dead() }

// tracked finds the plugin's socket under the connection pgx talks through:
// with TLS that is a *tls.Conn around it.
func tracked(c net.Conn) *trackedConn {
	for range 4 { // a few layers at most; never loop on a cycle
		switch v := c.(type) {
		case *trackedConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
