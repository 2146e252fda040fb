package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// pair returns a tracked client socket connected to a loopback server socket.
func pair(t testing.TB) (*trackedConn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var s connSet
	var d net.Dialer
	c, err := s.wrap(d.DialContext)(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c.(*trackedConn), srv
}

func TestDeadSeesAServerThatWentAway(t *testing.T) {
	c, srv := pair(t)
	if c.dead() {
		t.Fatal("a live, idle connection reads as dead")
	}
	srv.Write([]byte("N")) // unsolicited data (a NOTICE or a FATAL): let a ping decide
	time.Sleep(10 * time.Millisecond)
	if !c.dead() {
		t.Fatal("pending data must ask for a ping")
	}
	buf := make([]byte, 1)
	c.Read(buf)
	srv.Close() // the server process died: the kernel sends FIN
	time.Sleep(10 * time.Millisecond)
	if !c.dead() {
		t.Fatal("a connection whose server closed reads as alive")
	}
}

// pgx's background reader can sit in a blocking Read on an idle pooled
// connection, holding the socket's read lock until data arrives. The check
// must answer at once all the same: it once waited for that lock forever.
func TestDeadDoesNotWaitForABlockedReader(t *testing.T) {
	c, srv := pair(t)
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 1)
		c.Read(buf) // blocks: the server sends nothing
	}()
	time.Sleep(50 * time.Millisecond) // let the reader park with the lock held

	answered := make(chan bool, 1)
	go func() { answered <- c.dead() }()
	select {
	case d := <-answered:
		if d {
			t.Fatal("an idle live connection with a parked reader reads as dead")
		}
	case <-time.After(5 * time.Second):
		srv.Write([]byte("x")) // release the reader, then the check
		<-answered
		t.Fatal("the socket check waited for another goroutine's Read")
	}
	srv.Write([]byte("x"))
	<-read
}

// With TLS pgx talks through a *tls.Conn around the plugin's socket; the
// check must find the socket under it.
func TestTrackedFindsTheSocketUnderTLS(t *testing.T) {
	c, _ := pair(t)
	if got := tracked(c); got != c {
		t.Fatal("plain socket not found")
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if got := tracked(tc); got != c {
		t.Fatalf("socket under TLS not found: %v", got)
	}
	if got := tracked(&net.TCPConn{}); got != nil {
		t.Fatal("a socket the plugin did not open must not be checked")
	}
}

func BenchmarkDead(b *testing.B) {
	c, _ := pair(b)
	b.ReportAllocs()
	for b.Loop() {
		if c.dead() {
			b.Fatal("dead")
		}
	}
}

// A socket's stamp is on the clock the stall watcher and the probes use
// (monoNanos): taken at the write, compared with a probe's start (monoOf).
// The write's stamp once read the wall clock too.
func TestWriteStampIsOnTheStallClock(t *testing.T) {
	c, srv := pair(t)
	probeStart := monoOf(time.Now())
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	after := monoNanos()
	at := c.set.stalledSince()
	if at < probeStart || at > after {
		t.Fatalf("stamp %d outside [%d, %d]: not on the stall clock", at, probeStart, after)
	}
	srv.Write([]byte("y"))
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if at := c.set.stalledSince(); at != 0 {
		t.Fatalf("stamp %d after the answer; want 0", at)
	}
}
