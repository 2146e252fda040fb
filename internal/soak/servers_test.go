//go:build linux

package soak

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

// serverSampleEach: how often the servers are sampled. A connection that
// lives less than this may be missed by the new-connections count; the
// pools' connections live for minutes.
const serverSampleEach = 250 * time.Millisecond

// probeSampleEach: how often each server's probe count is read.
const probeSampleEach = 5 * time.Second

// serverSample is one look at one server.
type serverSample struct {
	At       time.Time
	OK       bool
	Recovery bool
	Conns    int // client backends on the app database (the sampler's own excluded)
}

// serverSeries is what the sampler saw of one server over the run.
type serverSeries struct {
	samples []serverSample
	// starts: the start of each client backend seen (new connections).
	starts []time.Time
	seen   map[[2]int64]bool // pid, backend_start
	// probes: probe queries counted by pg_stat_statements (a restart of the
	// server resets it: the count goes on from 0).
	probes    int64
	lastCalls int64
}

// sampler samples every server of c over its own connection.
type sampler struct {
	c      *patronitest.Cluster
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	series map[*patronitest.Node]*serverSeries
}

func startSampler(c *patronitest.Cluster) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{c: c, cancel: cancel, series: map[*patronitest.Node]*serverSeries{}}
	for _, n := range c.Nodes() {
		s.series[n] = &serverSeries{seen: map[[2]int64]bool{}, lastCalls: -1}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.poll(ctx, n)
		}()
	}
	return s
}

// stop ends the sampling; the series are then the caller's.
func (s *sampler) stop() map[*patronitest.Node]*serverSeries {
	s.cancel()
	s.wg.Wait()
	return s.series
}

// The client backends of the app database but the sampler's own.
const activitySQL = `SELECT pid, (extract(epoch FROM backend_start) * 1e6)::bigint
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND datname = current_database() AND pid <> pg_backend_pid()`

// The health probe (plugin/health.go's probeSQL) is the only statement
// that reads sender_host.
const probeCallsSQL = `SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements
WHERE query LIKE '%sender_host%' AND query LIKE '%pg_is_in_recovery%' AND query NOT LIKE '%pg_stat_statements%'`

func (s *sampler) poll(ctx context.Context, n *patronitest.Node) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(serverSampleEach)
	defer tick.Stop()
	var lastProbe time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := pgx.Connect(cctx, s.c.DSN(n))
			cancel()
			if err != nil {
				s.add(n, serverSample{At: time.Now()}, nil, -1)
				continue
			}
			conn = c
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		sm, starts, err := s.look(qctx, conn)
		calls := int64(-1)
		if err == nil && time.Since(lastProbe) >= probeSampleEach {
			if conn.QueryRow(qctx, probeCallsSQL).Scan(&calls) == nil {
				lastProbe = time.Now()
			} else {
				calls = -1
			}
		}
		cancel()
		if err != nil {
			conn.Close(context.Background())
			conn = nil
			s.add(n, serverSample{At: time.Now()}, nil, -1)
			continue
		}
		s.add(n, sm, starts, calls)
	}
}

func (s *sampler) look(ctx context.Context, conn *pgx.Conn) (serverSample, [][2]int64, error) {
	sm := serverSample{At: time.Now(), OK: true}
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&sm.Recovery); err != nil {
		return sm, nil, err
	}
	rows, err := conn.Query(ctx, activitySQL)
	if err != nil {
		return sm, nil, err
	}
	var starts [][2]int64
	for rows.Next() {
		var k [2]int64
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return sm, nil, err
		}
		starts = append(starts, k)
	}
	rows.Close()
	sm.Conns = len(starts)
	return sm, starts, rows.Err()
}

func (s *sampler) add(n *patronitest.Node, sm serverSample, starts [][2]int64, calls int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.series[n]
	se.samples = append(se.samples, sm)
	for _, k := range starts {
		if !se.seen[k] {
			se.seen[k] = true
			se.starts = append(se.starts, time.UnixMicro(k[1]))
		}
	}
	if calls >= 0 {
		switch {
		case se.lastCalls < 0:
		case calls >= se.lastCalls:
			se.probes += calls - se.lastCalls
		default: // reset by a restart
			se.probes += calls
		}
		se.lastCalls = calls
	}
}
