//go:build linux

package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/internal/faultproxy"
	"github.com/prompt-improver/unifieddb/internal/patronitest"
	"github.com/prompt-improver/unifieddb/internal/watchdog"
)

// settings are the soak's knobs, from the environment (make soak).
type settings struct {
	instances  int
	writers    int // per instance, each one write and one read-your-writes read a second
	duration   time.Duration
	faultEvery time.Duration
	health     time.Duration
	workerBin  string // a prebuilt worker (e.g. of an older commit); "" builds this one
	label      string // names the report: .tmp/soak/<label>.md
	out        string
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDur(k string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

func loadSettings() settings {
	s := settings{
		instances:  envInt("SOAK_INSTANCES", 20),
		writers:    envInt("SOAK_WRITERS", 2),
		duration:   envDur("SOAK_DURATION", 30*time.Minute),
		faultEvery: envDur("SOAK_FAULT_EVERY", 90*time.Second),
		health:     envDur("SOAK_HEALTH_INTERVAL", time.Second),
		workerBin:  os.Getenv("SOAK_WORKER_BIN"),
		label:      os.Getenv("SOAK_LABEL"),
		out:        os.Getenv("SOAK_OUT"),
	}
	if s.label == "" {
		s.label = "soak"
	}
	if s.out == "" {
		s.out = "../../.tmp/soak" // go test runs in internal/soak
	}
	return s
}

// warmUp: the resource slopes are taken after it.
func warmUp(d time.Duration) time.Duration { return max(2*time.Minute, d/10) }

// TestSoak is `make soak`: see the package comment and
// docs/high-availability.md.
func TestSoak(t *testing.T) {
	if os.Getenv("UNIFIEDDB_SOAK") == "" {
		t.Skip("the soak runs with UNIFIEDDB_SOAK=1 (make soak)")
	}
	patronitest.Require(t)
	st := loadSettings()
	ctx, cancel := context.WithTimeout(context.Background(), st.duration+20*time.Minute)
	defer cancel()
	wd := watchdog.ForTest(t)
	t.Cleanup(wd.Watch(ctx, "the soak"))
	out, err := filepath.Abs(st.out)
	require.NoError(t, err)
	runDir := filepath.Join(out, st.label)
	require.NoError(t, os.RemoveAll(runDir))
	require.NoError(t, os.MkdirAll(runDir, 0o755))

	bin := st.workerBin
	if bin == "" {
		bin = filepath.Join(runDir, "soakworker")
		b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/prompt-improver/unifieddb/internal/soak/cmd/soakworker").CombinedOutput()
		require.NoError(t, err, "build the worker: %s", b)
	}

	var c *patronitest.Cluster
	require.NoError(t, wd.Do(ctx, "start a Patroni cluster", 5*time.Minute, func(ctx context.Context) (err error) {
		c, err = patronitest.Start(ctx, patronitest.Options{SynchronousMode: true, Logf: t.Logf, StartTimeout: 4 * time.Minute,
			// 20 instances need 220 connections per node (soakworker's pools).
			Parameters: map[string]any{"shared_preload_libraries": "pg_stat_statements", "max_connections": 260}})
		return err
	}))
	t.Cleanup(func() { _ = c.Close() })
	const items = 50
	require.NoError(t, wd.Do(ctx, "create the soak's tables", 2*time.Minute, func(ctx context.Context) error { return setUp(ctx, c, items) }))

	f := &fleet{c: c, proxies: map[*patronitest.Node]*faultproxy.Proxy{}}
	for _, n := range c.Nodes() {
		p, err := faultproxy.Start(n.Addr())
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close() })
		f.proxies[n] = p
	}
	nodes := c.Nodes()
	samp := startSampler(c)
	var stopped map[*patronitest.Node]*serverSeries
	defer func() {
		if stopped == nil {
			samp.stop()
		}
	}()

	// The fleet: one process each, started together as a deployment would.
	var procs []*exec.Cmd
	for i := range st.instances {
		dir := filepath.Join(runDir, fmt.Sprintf("instance-%02d", i))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		wc := WorkerConfig{Instance: i, Host: f.proxies[nodes[0]].Host(), Port: f.proxies[nodes[0]].Port(),
			Database: c.Database(), User: c.User(), Password: c.Password(), Out: dir,
			Writers: st.writers, WriteEach: time.Second, ReadEach: time.Second, Items: items, Health: st.health}
		for _, n := range nodes[1:] {
			wc.Replicas = append(wc.Replicas, f.proxies[n].Addr())
		}
		b, err := json.Marshal(wc)
		require.NoError(t, err)
		cfgPath := filepath.Join(dir, "config.json")
		require.NoError(t, os.WriteFile(cfgPath, b, 0o600))
		logf, err := os.Create(filepath.Join(dir, "worker.log"))
		require.NoError(t, err)
		cmd := exec.Command(bin, cfgPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		require.NoError(t, cmd.Start())
		logf.Close()
		procs = append(procs, cmd)
	}
	exited := make(chan error, len(procs))
	for _, p := range procs {
		go func() { exited <- p.Wait() }()
	}
	t.Cleanup(func() {
		for _, p := range procs {
			_ = p.Process.Kill()
		}
	})
	loadStart := time.Now()
	t.Logf("soak: %d instances of %d writers and 1 reader, %s, a fault every ~%s, health_check_interval %s; records in %s", st.instances, st.writers, st.duration, st.faultEvery, st.health, runDir)

	// The faults, one kind after the other, at jittered intervals.
	var faults []faultRun
	end := loadStart.Add(st.duration)
	for k := 0; ; k++ {
		wait := time.Duration(float64(st.faultEvery) * (0.75 + 0.5*rand.Float64()))
		if k == 0 {
			wait = min(wait, st.faultEvery/2+30*time.Second) // the fleet settled
		}
		if time.Now().Add(wait).Add(st.faultEvery / 2).After(end) {
			break
		}
		time.Sleep(wait)
		kind := faultKinds[k%len(faultKinds)]
		fr := faultRun{kind: kind, start: time.Now()}
		if l, err := c.Leader(ctx); err == nil {
			fr.before = l
		}
		err := wd.Do(ctx, "fault "+kind, 3*time.Minute, func(ctx context.Context) (err error) {
			fr.target, err = f.inject(ctx, kind)
			return err
		})
		fr.injected = time.Now()
		if err != nil {
			fr.err = err.Error()
			t.Logf("soak: fault %d (%s): %v", k, kind, err)
		}
		herr := wd.Do(ctx, "cluster healthy after "+kind, 3*time.Minute, func(ctx context.Context) (err error) {
			fr.after, err = c.WaitHealthy(ctx)
			return err
		})
		fr.healthy = time.Now()
		if herr != nil {
			// The load goes on; the faults resume if the cluster heals
			// before the end, and the report says what the fleet saw.
			fr.err = strings.TrimPrefix(fr.err+"; not healthy within 3m: "+herr.Error(), "; ")
			t.Errorf("soak: fault %d (%s): %v", k, kind, herr)
			if l, err := c.Leader(ctx); err == nil {
				fr.after = l
			}
			faults = append(faults, fr)
			herr = wd.Do(ctx, "cluster healthy again", time.Until(end)+time.Minute, func(context.Context) error {
				hctx, cancel := context.WithDeadline(ctx, end)
				defer cancel()
				_, err := c.WaitHealthy(hctx)
				return err
			})
			if herr != nil {
				break
			}
			t.Logf("soak: healthy again %s after fault %d", time.Since(fr.healthy).Round(time.Second), k)
			continue
		}
		t.Logf("soak: fault %d %s on %s: injected in %s, healthy %s later, leader %s -> %s", k, kind, nodeName(fr.target),
			fr.injected.Sub(fr.start).Round(time.Millisecond), fr.healthy.Sub(fr.injected).Round(time.Millisecond), nodeName(fr.before), nodeName(fr.after))
		faults = append(faults, fr)
		select {
		case err := <-exited:
			t.Fatalf("soak: an instance exited during the run (see its worker.log): %v", err)
		default:
		}
	}
	time.Sleep(time.Until(end))
	loadEnd := time.Now()
	if err := wd.Do(ctx, "cluster healthy at the end", 3*time.Minute, func(ctx context.Context) error {
		_, err := c.WaitHealthy(ctx)
		return err
	}); err != nil {
		t.Errorf("soak: the cluster is not healthy at the end: %v", err)
	}

	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	var exitErrs []error
	require.NoError(t, wd.Do(ctx, "the fleet stops", 3*time.Minute, func(ctx context.Context) error {
		for range procs {
			select {
			case err := <-exited:
				if err != nil {
					exitErrs = append(exitErrs, err)
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}))
	stopped = samp.stop()
	leader, err := c.Leader(ctx)
	require.NoError(t, err, "no leader at the end: no history check")
	var rows map[[2]int]int
	require.NoError(t, wd.Do(ctx, "read soak_writes", time.Minute, func(ctx context.Context) (err error) {
		rows, err = writesOn(ctx, c, leader)
		return err
	}))

	run := &runData{st: st, dir: runDir, loadStart: loadStart, loadEnd: loadEnd, faults: faults, servers: stopped, rows: rows,
		proxyNode: map[string]*patronitest.Node{}, nodes: nodes}
	for n, p := range f.proxies {
		run.proxyNode[p.Addr()] = n
	}
	require.NoError(t, run.load())
	rep := run.report()
	for _, line := range rep.lines {
		t.Log(line)
	}
	path := filepath.Join(out, st.label+".md")
	require.NoError(t, os.WriteFile(path, []byte(rep.markdown()), 0o644))
	t.Logf("soak: table written to %s", path)
	for _, e := range exitErrs {
		t.Errorf("soak: an instance exited with %v (see its worker.log)", e)
	}
	for _, p := range rep.problems {
		t.Error(p)
	}
}

func nodeName(n *patronitest.Node) string {
	if n == nil {
		return "-"
	}
	return n.Name
}

// setUp creates the soak's tables on the leader (and pg_stat_statements,
// for the probe count) and waits until every replica has them.
func setUp(ctx context.Context, c *patronitest.Cluster, items int) error {
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, c.DSN(leader))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		"CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
		"CREATE TABLE soak_writes (id bigserial PRIMARY KEY, worker int NOT NULL, seq int NOT NULL)",
		"CREATE TABLE soak_items (id bigserial PRIMARY KEY, name text NOT NULL)",
		fmt.Sprintf("INSERT INTO soak_items (name) SELECT 'item ' || g FROM generate_series(1, %d) g", items),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("soak: %s: %w", q, err)
		}
	}
	for _, n := range c.Nodes() {
		for {
			var k int
			err := c.QueryRow(ctx, n, "SELECT count(*) FROM soak_items", &k)
			if err == nil && k == items {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("soak: %s has not replayed the set-up: %w", n.Name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// writesOn counts soak_writes rows per (worker, seq) on n.
func writesOn(ctx context.Context, c *patronitest.Cluster, n *patronitest.Node) (map[[2]int]int, error) {
	conn, err := pgx.Connect(ctx, c.DSN(n))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rs, err := conn.Query(ctx, "SELECT worker, seq, count(*) FROM soak_writes GROUP BY worker, seq")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[[2]int]int{}
	for rs.Next() {
		var w, s, k int
		if err := rs.Scan(&w, &s, &k); err != nil {
			return nil, err
		}
		out[[2]int{w, s}] = k
	}
	return out, rs.Err()
}
