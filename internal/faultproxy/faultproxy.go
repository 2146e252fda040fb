// Package faultproxy is a TCP forwarder on loopback that tests put between
// the Manager and a node to inject the faults real networks produce: a
// blackholed link (nothing forwarded, nothing closed: half-open), added
// latency, every connection reset, and replies cut after some bytes.
//
// It is written here rather than taken from Shopify/toxiproxy: the
// in-process toxiproxy server would add an HTTP router, a logger and their
// dependencies to the module for four small behaviours.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections from its loopback address to one upstream.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu        sync.Mutex
	cond      *sync.Cond // broadcast when blackhole is lifted or the proxy closes
	links     map[*link]struct{}
	blackhole bool
	latency   time.Duration
	resets    int // links reset by ResetAll or a cut
	closed    bool
	wg        sync.WaitGroup
}

// link is one client connection and its upstream connection.
type link struct {
	client, server *net.TCPConn
	// cutAfter is how many more reply bytes may reach the client before the
	// link is reset; negative: no limit.
	cutAfter int64
}

// Start listens on 127.0.0.1 (a free port) and forwards to upstream.
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, upstream: upstream, links: map[*link]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Host is the proxy's host.
func (p *Proxy) Host() string { return p.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Blackhole stops (on) or resumes (off) forwarding in both directions, on
// open and new connections alike. Nothing is closed and nothing is dropped:
// held bytes are delivered when the blackhole is lifted, as TCP would
// retransmit them after a partition heals. Meanwhile the peers see a silent,
// half-open link.
func (p *Proxy) Blackhole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = on
	p.cond.Broadcast()
}

// SetLatency delays every chunk of reply bytes (upstream to client) by d, so
// every round trip takes at least d longer; 0 removes it.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// ResetAll resets every open connection: both peers get a TCP RST.
func (p *Proxy) ResetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		p.reset(l)
	}
}

// CutRepliesAfter lets n more reply bytes reach the client on every open
// connection, then resets it: the server may have run the statement, the
// client never hears the whole answer. New connections are not affected.
func (p *Proxy) CutRepliesAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.cutAfter = n
	}
}

// Resets is how many connections ResetAll and cuts have reset so far.
func (p *Proxy) Resets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resets
}

// Connections is the number of open connections.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Close stops listening, closes every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for l := range p.links {
		l.client.Close()
		l.server.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// reset resets l; p.mu is held.
func (p *Proxy) reset(l *link) {
	if _, open := p.links[l]; open {
		p.resets++
		delete(p.links, l)
	}
	// Linger 0 makes Close send RST instead of FIN.
	l.client.SetLinger(0)
	l.server.SetLinger(0)
	l.client.Close()
	l.server.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(c.(*net.TCPConn))
	}
}

func (p *Proxy) serve(client *net.TCPConn) {
	defer p.wg.Done()
	sc, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		client.SetLinger(0)
		client.Close()
		return
	}
	l := &link{client: client, server: sc.(*net.TCPConn), cutAfter: -1}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.client.Close()
		l.server.Close()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	go func() { p.pump(l, l.client, l.server, false); done <- struct{}{} }()
	go func() { p.pump(l, l.server, l.client, true); done <- struct{}{} }()
	<-done
	// One direction ended: end the other too, as a proxy process would.
	l.client.Close()
	l.server.Close()
	<-done
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// cutGrace is how long a cut link stays open after its last bytes.
const cutGrace = 100 * time.Millisecond

// pump copies src to dst chunk by chunk, applying the faults in force when
// each chunk arrives.
func (p *Proxy) pump(l *link, src, dst *net.TCPConn, replies bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk, cut, delay, ok := p.admit(l, buf[:n], replies)
			if !ok {
				return
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
			if cut {
				// Let the client read what it got before the reset: a
				// reset discards unread data, which would turn every cut
				// into a reset before the first byte.
				if len(chunk) > 0 {
					time.Sleep(cutGrace)
				}
				p.mu.Lock()
				p.reset(l)
				p.mu.Unlock()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			dst.CloseWrite() // pass the half-close on
			return
		}
	}
}

// admit waits out a blackhole and says what of chunk to forward: all of it
// or, for replies under a cut, the bytes left before the reset.
func (p *Proxy) admit(l *link, chunk []byte, replies bool) (out []byte, cut bool, delay time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.blackhole && !p.closed {
		p.cond.Wait()
	}
	if p.closed {
		return nil, false, 0, false
	}
	if !replies {
		return chunk, false, 0, true
	}
	if l.cutAfter >= 0 {
		if int64(len(chunk)) >= l.cutAfter {
			return chunk[:l.cutAfter], true, p.latency, true
		}
		l.cutAfter -= int64(len(chunk))
	}
	return chunk, false, p.latency, true
}

// String is for test logs.
func (p *Proxy) String() string {
	return "faultproxy " + p.Addr() + " -> " + p.upstream
}
