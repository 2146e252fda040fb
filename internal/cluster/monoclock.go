package cluster

import "time"

// The stall detection (stall.go) stamps every statement's first write on a
// socket, so that stamp is on the statement path: it is read from the
// monotonic clock only. time.Now().UnixNano() reads the wall clock as well,
// a second clock read per statement (~60 ns against ~30 ns on a kvm-clock
// VM), and a wall clock that steps (NTP) would make a waiting socket look
// older or younger than it is. Every stamp that is compared with a socket's
// (the probe's answeredAt, the watcher's now, a probe's start) is on this
// clock too.

// monoBase anchors the stamps; taken at start-up, it carries a monotonic
// reading, so time.Since(monoBase) reads only the monotonic clock.
var monoBase = time.Now()

// monoNanos is the monotonic time in ns since monoBase, never 0 (0 means
// "nothing awaited" in trackedConn.sentAt).
func monoNanos() int64 { return max(int64(time.Since(monoBase)), 1) }

// MonoNanos is monoNanos, for the query path's durations (the metrics'
// latency): one monotonic clock read where time.Now reads two clocks.
func MonoNanos() int64 { return monoNanos() }

// monoOf is t (a time.Now reading) on monoNanos' scale, without reading a
// clock.
func monoOf(t time.Time) int64 { return int64(t.Sub(monoBase)) }
