package datalayer

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The pools' sockets carry the configured keepalive and user timeout.
func TestDialerSetsKeepaliveAndUserTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := DefaultConfig()
	cfg.TCPKeepalive, cfg.TCPUserTimeout = 7*time.Second, 1500*time.Millisecond
	c, err := cfg.dialer().DialContext(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var userTimeout, keepIdle, keepOn int
	rc.Control(func(fd uintptr) {
		userTimeout, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		keepIdle, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
		keepOn, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	})
	if userTimeout != 1500 {
		t.Errorf("TCP_USER_TIMEOUT = %d ms, want 1500", userTimeout)
	}
	if keepOn != 1 || keepIdle != 7 {
		t.Errorf("keepalive on=%d idle=%d s, want on, 7 s", keepOn, keepIdle)
	}

	// 0 leaves the system's settings.
	cfg.TCPKeepalive, cfg.TCPUserTimeout = 0, 0
	c2, err := cfg.dialer().DialContext(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	rc2, _ := c2.(*net.TCPConn).SyscallConn()
	rc2.Control(func(fd uintptr) {
		userTimeout, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
	})
	if userTimeout != 0 {
		t.Errorf("TCP_USER_TIMEOUT = %d with tcp_user_timeout 0", userTimeout)
	}
}
