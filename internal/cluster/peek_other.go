//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package cluster

import "net"

// peeker has no non-blocking peek on this platform: the socket check is off,
// and a reused connection is pinged only after it idled over a second.
type peeker struct{}

func newPeeker(net.Conn) *peeker { return nil }

func (*peeker) dead() bool { return false }
