// Package daemon holds what the test harnesses that run a server process
// of the machine (internal/haproxytest, internal/pgbouncertest) share:
// finding its binary, waiting until it accepts connections, and killing
// it. It runs on Linux only.
package daemon
