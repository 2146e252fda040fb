package pgcluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Ports are picked below Linux's ephemeral range (32768-60999): a client that
// keeps dialling a dead node's ephemeral port can end up connected to itself
// (TCP simultaneous open) and squat the port the node restarts on.
const (
	portMin = 15000
	portMax = 32000 // exclusive
)

// reservedPorts are the ports of live clusters in this process, so that two
// clusters started in parallel never pick the same one.
var reservedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// reservePort returns a port that is free now (bindable on 127.0.0.1) and
// reserved in this process until releasePort.
func reservePort() (int, error) {
	reservedPorts.Lock()
	defer reservedPorts.Unlock()
	for range 200 {
		p := portMin + rand.IntN(portMax-portMin)
		if reservedPorts.m[p] || !portFree(p) {
			continue
		}
		reservedPorts.m[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("pgcluster: no free port in [%d, %d)", portMin, portMax)
}

func releasePort(p int) {
	reservedPorts.Lock()
	delete(reservedPorts.m, p)
	reservedPorts.Unlock()
}

func portFree(p int) bool {
	l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
