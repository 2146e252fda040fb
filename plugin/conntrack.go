package plugin

import (
	"context"
	"net"
	"sync"
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
