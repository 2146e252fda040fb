package plugin

import (
	"context"
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

func BenchmarkDead(b *testing.B) {
	c, _ := pair(b)
	b.ReportAllocs()
	for b.Loop() {
		if c.dead() {
			b.Fatal("dead")
		}
	}
}
