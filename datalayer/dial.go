package datalayer

import (
	"net"
	"strings"
	"syscall"
)

// dialer opens the connections of every pool and probe: TCP keepalives
// (tcp_keepalive) notice a vanished peer on an idle connection, and
// tcp_user_timeout bounds how long sent data may go unacknowledged, so a
// dead peer is noticed without relying on the health probe alone.
func (c Config) dialer() *net.Dialer {
	d := &net.Dialer{}
	if c.TCPKeepalive > 0 {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: c.TCPKeepalive, Interval: c.TCPKeepalive, Count: 3}
	}
	if c.TCPUserTimeout > 0 {
		ms := int(c.TCPUserTimeout.Milliseconds())
		d.Control = func(network, _ string, rc syscall.RawConn) error {
			if !strings.HasPrefix(network, "tcp") {
				return nil // a Unix socket has no TCP settings
			}
			return setUserTimeout(rc, ms)
		}
	}
	return d
}
