package cluster

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peak counts how many run at once.
type peak struct {
	now, max atomic.Int32
}

func (p *peak) in() {
	n := p.now.Add(1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (p *peak) out() { p.now.Add(-1) }

// failing is a driver.Connector whose dials fail after a while, counting
// those in progress.
type failing struct {
	p     *peak
	delay time.Duration
}

func (f failing) Connect(context.Context) (driver.Conn, error) {
	if f.p != nil {
		f.p.in()
		defer f.p.out()
	}
	time.Sleep(f.delay)
	return nil, errors.New("refused")
}

func (f failing) Driver() driver.Driver { return nil }

// noIdlePool is a pool that never has an idle connection.
func noIdlePool(t *testing.T, wait time.Duration, turns int) *Pool {
	db := sql.OpenDB(failing{})
	t.Cleanup(func() { db.Close() })
	return &Pool{DB: db, Node: &Node{Name: "n1"}, Wait: wait, released: newGate(turns)}
}

// TestReleasedCallersRunAFewAtATime: callers released together on a pool
// with no idle connection run ConnectBurst at a time while their
// statements last less than admitHold; a statement that lasts longer lets
// the next one in after admitHold.
func TestReleasedCallersRunAFewAtATime(t *testing.T) {
	pl := noIdlePool(t, 5*time.Second, ConnectBurst)
	var p peak
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leave, err := pl.Admit(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer leave()
			p.in()
			defer p.out()
			time.Sleep(20 * time.Millisecond)
		}()
	}
	wg.Wait()
	if got := p.max.Load(); got != ConnectBurst {
		t.Fatalf("%d released callers ran at once, want %d", got, ConnectBurst)
	}

	// A long statement holds its turn only admitHold.
	start := time.Now()
	block := make(chan struct{})
	for range ConnectBurst {
		go func() {
			leave, err := pl.Admit(context.Background())
			if err == nil {
				<-block
				leave()
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	leave, err := pl.Admit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	leave()
	close(block)
	if d := time.Since(start); d < admitHold || d > admitHold+time.Second {
		t.Fatalf("admitted after %s behind long statements, want about %s", d, admitHold)
	}
}

// TestReleasedCallerWaitingPastPoolTimeout: ErrPoolTimeout after
// pool_timeout, the context's error when it ends first.
func TestReleasedCallerWaitingPastPoolTimeout(t *testing.T) {
	pl := noIdlePool(t, 50*time.Millisecond, 1)
	pl.released <- struct{}{} // the only turn is taken
	if _, err := pl.Admit(context.Background()); !errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("err = %v, want ErrPoolTimeout", err)
	}
	pl.Wait = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := pl.Admit(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("err = %v, want the context's", err)
	}
}

// TestConnectorDialsAFewAtATime: however many callers need a connection
// of one pool, at most ConnectBurst dials are in progress.
func TestConnectorDialsAFewAtATime(t *testing.T) {
	var p peak
	c := gatedConnector{Connector: failing{p: &p, delay: 20 * time.Millisecond}, dials: newGate(ConnectBurst)}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Connect(context.Background())
		}()
	}
	wg.Wait()
	if got := p.max.Load(); got != ConnectBurst {
		t.Fatalf("%d dials at once, want %d", got, ConnectBurst)
	}
}

// TestJitterSpreadsWithinBounds: within ±frac, and not all alike.
func TestJitterSpreadsWithinBounds(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := Jitter(time.Second, 0.1)
		if d < 900*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("Jitter(1s, 0.1) = %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct delays in 1000", len(seen))
	}
	if Jitter(0, 0.5) != 0 || Jitter(time.Second, 0) != time.Second {
		t.Fatal("Jitter of 0 or by 0 changed the delay")
	}
}

// TestDownDelayBacksOff: fast for the first failure, then doubling up to
// health_check_interval, never more than 1 s.
func TestDownDelayBacksOff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		interval time.Duration
		failed   int
		want     time.Duration
	}{
		{5 * time.Second, 0, 100 * ms},
		{5 * time.Second, 1, 100 * ms},
		{5 * time.Second, 2, 200 * ms},
		{5 * time.Second, 4, 800 * ms},
		{5 * time.Second, 5, time.Second},
		{5 * time.Second, 1000, time.Second},
		{200 * ms, 3, 200 * ms},
		{50 * ms, 9, 50 * ms}, // fast is then 50 ms: never slower
	} {
		fast := min(100*ms, tc.interval)
		if got := downDelay(fast, tc.interval, tc.failed); got != tc.want {
			t.Errorf("downDelay(%s, %s, %d) = %s, want %s", fast, tc.interval, tc.failed, got, tc.want)
		}
	}
}
