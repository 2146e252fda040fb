// Command soakworker is one instance of the soak's fleet (internal/soak):
// a Manager under a light load until SIGTERM, every operation under a
// watchdog, recording its writes, reads, acknowledged INSERTs and resource
// samples in the directory its config names.
//
// Usage: soakworker CONFIG.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/soak"
	"github.com/prompt-improver/unifieddb/internal/watchdog"
	"github.com/prompt-improver/unifieddb/plugin"
)

// soakWrite is a row of soak_writes.
type soakWrite struct {
	ID     uint `gorm:"primaryKey"`
	Worker int
	Seq    int
}

// soakItem is a row of soak_items, read by the plain readers.
type soakItem struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: soakworker CONFIG.json")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "soakworker:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var wc soak.WorkerConfig
	if err := json.Unmarshal(b, &wc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	cfg := datalayer.DefaultConfig()
	cfg.Host, cfg.Port, cfg.ReplicaHosts = wc.Host, wc.Port, wc.Replicas
	cfg.Database, cfg.Username, cfg.Password = wc.Database, wc.User, wc.Password
	cfg.SSLMode = "disable"
	cfg.ApplicationName = fmt.Sprintf("soak-%d", wc.Instance)
	// Small pools, so that 20 instances fit the soak servers'
	// max_connections (260, 257 usable; doctor's connections check:
	// (2+2)*2 + 1 + 1 + 1 probe = 11 each, 220 for 20); as large as the
	// writers (4), so that a released stampede could open one each.
	cfg.PoolSize, cfg.MaxOverflow, cfg.BatchPoolSize, cfg.TransactionalPoolSize = 2, 2, 1, 1
	cfg.PoolTimeout = 5 * time.Second
	cfg.HealthCheckInterval = wc.Health
	// connection_timeout stays at its default (5 s): on the shared 2-core
	// machine a server busy with 20 instances' reconnections takes more
	// than 2 s to accept one, and every probe would take it for down.
	// Patroni's leader lock lives 10 s: a write waits for the next leader.
	cfg.FailoverTimeout = 30 * time.Second

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	wd := watchdog.New(fmt.Sprintf("soak instance %d", wc.Instance))

	var (
		insMu   sync.Mutex
		inserts []soak.Insert
	)
	seeInserts := plugin.StatementFunc(func(_ context.Context, s plugin.Statement) {
		if s.Err == nil && s.Operation() == "INSERT" {
			insMu.Lock()
			inserts = append(inserts, soak.Insert{Node: s.Node, Start: s.Start})
			insMu.Unlock()
		}
	})
	var m *datalayer.Manager
	err = wd.Do(context.Background(), "datalayer.New", time.Minute, func(ctx context.Context) (err error) {
		m, err = datalayer.New(ctx, cfg, datalayer.WithStatementHook(seeInserts))
		return err
	})
	if err != nil {
		return err
	}

	samples, err := os.OpenFile(filepath.Join(wc.Out, soak.SamplesFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		m.Close()
		return err
	}
	defer samples.Close()
	enc := json.NewEncoder(samples)
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		tick := time.NewTicker(soak.SampleEach)
		defer tick.Stop()
		for {
			_ = enc.Encode(sample(sampleCtx, m, false))
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	ryw := newRYW(m, wc.Instance, max(1, wc.Writers))
	writes := loadgen.StartWatched(context.Background(), wd, max(1, wc.Writers), wc.WriteEach, ryw.op)
	reads := loadgen.StartWatched(context.Background(), wd, 1, wc.ReadEach, func(ctx context.Context, w, seq int) error {
		var it soakItem
		return m.DB().WithContext(ctx).First(&it, 1+(wc.Instance*31+seq)%wc.Items).Error
	})

	<-sigs
	plain := reads.Stop()
	writes.Stop()
	stopSampling()
	sampling.Wait()

	var ops []soak.Op
	for _, r := range plain {
		ops = append(ops, soak.Op{Worker: wc.Instance, Seq: r.Seq, Start: r.Start, End: r.End,
			Outcome: soak.Outcome(r.Err), Err: errText(r.Err), Plain: true})
	}
	ops = append(ops, ryw.reads...)
	insMu.Lock()
	ins := append([]soak.Insert(nil), inserts...)
	insMu.Unlock()
	werr := errors.Join(
		soak.WriteLines(filepath.Join(wc.Out, soak.WritesFile), ryw.writes),
		soak.WriteLines(filepath.Join(wc.Out, soak.ReadsFile), ops),
		soak.WriteLines(filepath.Join(wc.Out, soak.InsertsFile), ins))
	cerr := wd.Do(context.Background(), "Manager.Close", time.Minute, func(context.Context) error { return m.Close() })
	// After Close: what is left running (a leak shows here).
	time.Sleep(500 * time.Millisecond)
	_ = enc.Encode(sample(context.Background(), nil, true))
	return errors.Join(werr, cerr)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sample reads the process's resources and, while m is open, its pools
// (the cached health report: no probe).
func sample(ctx context.Context, m *datalayer.Manager, closed bool) soak.Sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := soak.Sample{At: time.Now(), Goroutines: runtime.NumGoroutine(), HeapBytes: ms.HeapAlloc, Closed: closed}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.FDs = len(fds)
	}
	if m != nil {
		if rep, err := m.HealthCheck(ctx); err == nil {
			s.PoolOpen, s.PoolIdle = rep.ConnectionPool.Open, rep.ConnectionPool.Idle
		}
	}
	return s
}

// rywWriter is the write load: each request of writer w writes a row of
// its own with w's read-your-writes context, kept for the whole run, then
// reads back the highest seq of w's rows, which must show w's last
// acknowledged write and never go backwards (internal/history.CheckReads).
// Writer w of instance i is worker i*WorkersPerInstance + w in soak_writes.
type rywWriter struct {
	m    *datalayer.Manager
	base int
	ctxs []context.Context // by writer: carries its read-your-writes context

	mu     sync.Mutex
	writes []soak.Op
	reads  []soak.Op
	acked  []int // by writer
}

func newRYW(m *datalayer.Manager, instance, writers int) *rywWriter {
	r := &rywWriter{m: m, base: instance * soak.WorkersPerInstance}
	for range writers {
		r.ctxs = append(r.ctxs, datalayer.WithReadYourWrites(context.Background()))
		r.acked = append(r.acked, -1)
	}
	return r
}

// valuesOf is a request's context (deadline, cancellation) with the
// values of vals first.
type valuesOf struct {
	context.Context
	vals context.Context
}

func (c valuesOf) Value(key any) any {
	if v := c.vals.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

func (r *rywWriter) op(ctx context.Context, wr, seq int) error {
	rctx := valuesOf{Context: ctx, vals: r.ctxs[wr]}
	worker := r.base + wr
	start := time.Now()
	werr := r.m.DB().WithContext(rctx).Create(&soakWrite{Worker: worker, Seq: seq}).Error
	w := soak.Op{Worker: worker, Seq: seq, Start: start, End: time.Now(), Outcome: soak.Outcome(werr), Err: errText(werr)}
	r.mu.Lock()
	r.writes = append(r.writes, w)
	if werr == nil {
		r.acked[wr] = seq
	}
	want := r.acked[wr]
	r.mu.Unlock()

	start = time.Now()
	var got struct {
		Saw  *int
		Port int
	}
	rerr := r.m.DB().WithContext(rctx).Model(&soakWrite{}).Where("worker = ?", worker).
		Select("max(seq) AS saw, inet_server_port() AS port").Scan(&got).Error
	rd := soak.Op{Worker: worker, Seq: seq, Start: start, End: time.Now(), Outcome: soak.Outcome(rerr), Err: errText(rerr),
		Want: want, Saw: -1, Port: got.Port}
	if got.Saw != nil {
		rd.Saw = *got.Saw
	}
	r.mu.Lock()
	r.reads = append(r.reads, rd)
	r.mu.Unlock()
	return errors.Join(werr, rerr)
}
