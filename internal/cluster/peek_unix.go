//go:build linux || darwin || freebsd || netbsd || openbsd

package cluster

import (
	"errors"
	"net"
	"syscall"
)

// peeker looks at a socket's receive queue with one non-blocking
// recv(MSG_PEEK|MSG_DONTWAIT) under RawConn.Control. Control, unlike
// RawConn.Read, takes no lock of the socket, so the check can never wait for
// a reader that holds it. The buffer is set up once: a check allocates
// nothing. It takes no lock either: database/sql checks a connection only
// while holding that connection's own lock (driverConn.resetSession, which
// calls pgx's ShouldPing), so the checks of one socket never overlap.
type peeker struct {
	raw syscall.RawConn
	fn  func(fd uintptr)

	buf [1]byte
	n   int
	err error
}

func newPeeker(c net.Conn) *peeker {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	pk := &peeker{raw: raw}
	pk.fn = pk.recv
	return pk
}

func (pk *peeker) recv(fd uintptr) {
	pk.n, _, pk.err = syscall.Recvfrom(int(fd), pk.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
}

func (pk *peeker) dead() bool {
	if err := pk.raw.Control(pk.fn); err != nil {
		return true // the socket is closed
	}
	switch {
	case errors.Is(pk.err, syscall.EAGAIN), errors.Is(pk.err, syscall.EWOULDBLOCK):
		return false // nothing pending: the server is there, as far as can be known
	case errors.Is(pk.err, syscall.EINTR):
		return false // interrupted before it looked: no news is no proof of death
	case pk.err != nil:
		return true
	}
	return true // EOF (0 bytes) or pending data: let a ping decide
}
