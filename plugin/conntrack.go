package plugin

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
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
}

type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once

	// For dead: set up once at dial time, so a check allocates nothing.
	raw     syscall.RawConn
	peekFn  func(fd uintptr) bool
	peekBuf [1]byte
	peekN   int
	peekErr error
}

// dead reports, without blocking and without sending anything, whether the
// server side of an idle pooled connection is gone: the kernel already holds
// its EOF or reset (the server process died), or unsolicited data (such as a
// FATAL before it closed). Checked before a pooled connection is reused for a
// write, it turns "sent into a dead socket, outcome unknown" into "not sent,
// retried". One non-blocking recv, no allocation.
func (c *trackedConn) dead() bool {
	if c.raw == nil {
		return false
	}
	if err := c.raw.Read(c.peekFn); err != nil {
		return true
	}
	switch {
	case errors.Is(c.peekErr, syscall.EAGAIN), errors.Is(c.peekErr, syscall.EWOULDBLOCK):
		return false // nothing pending: the server is there, as far as can be known
	case c.peekErr != nil:
		return true
	}
	return true // EOF (0 bytes) or pending data: let a ping decide
}

func (c *trackedConn) peek(fd uintptr) bool {
	c.peekN, _, c.peekErr = syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return true // never wait for readiness
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
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s}
		if sc, ok := c.(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				tc.raw = raw
				tc.peekFn = tc.peek
			}
		}
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[*trackedConn]struct{}{}
		}
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		return tc, nil
	}
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
	if tc, ok := p.Conn.PgConn().Conn().(*trackedConn); ok {
		return tc.dead()
	}
	return false
}
