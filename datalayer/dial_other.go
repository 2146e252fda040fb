//go:build !linux

package datalayer

import "syscall"

// setUserTimeout: TCP_USER_TIMEOUT is Linux's; elsewhere keepalives and the
// health probe notice a dead peer.
func setUserTimeout(syscall.RawConn, int) error { return nil }
