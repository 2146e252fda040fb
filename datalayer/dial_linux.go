package datalayer

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func setUserTimeout(rc syscall.RawConn, ms int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms)
	}); err != nil {
		return err
	}
	return serr
}
