//go:build linux

package soak

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/prompt-improver/unifieddb/internal/patronitest"
)

// serverSampleEach: how often the servers are sampled.
const serverSampleEach = 250 * time.Millisecond

// probeSampleEach: how often each server's probe count is read.
const probeSampleEach = 5 * time.Second

// serverSample is one look at one server.
type serverSample struct {
	At       time.Time
	OK       bool
	Recovery bool
	Conns    int // client backends on the app database (the sampler's own excluded)
	// Sessions: pg_stat_database.sessions of the app database, every
	// session ever established there (PostgreSQL 14+), even those that
	// lived less than a sample; -1 when not read.
	Sessions int64
}

// serverSeries is what the sampler saw of one server over the run.
type serverSeries struct {
	samples []serverSample
	// probes: probe queries counted by pg_stat_statements (a restart of the
	// server resets it: the count goes on from 0).
	probes    int64
	lastCalls int64
	// newSessions: sessions established since the previous sample.
	newSessions  []sessionCount
	lastSessions int64
}

// sessionCount is how many sessions were established up to at since the
// previous sample.
type sessionCount struct {
	at time.Time
	n  int64
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
		s.series[n] = &serverSeries{lastCalls: -1, lastSessions: -1}
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

// The role, and the sessions established on the app database.
const sessionsSQL = `SELECT pg_is_in_recovery(),
  COALESCE((SELECT sessions FROM pg_stat_database WHERE datname = current_database()), -1)`

// The client backends of the app database but the sampler's own.
const activitySQL = `SELECT count(*) FROM pg_stat_activity
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
				s.add(n, serverSample{At: time.Now(), Sessions: -1}, -1)
				continue
			}
			conn = c
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		sm, err := s.look(qctx, conn)
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
			s.add(n, serverSample{At: time.Now(), Sessions: -1}, -1)
			continue
		}
		s.add(n, sm, calls)
	}
}

func (s *sampler) look(ctx context.Context, conn *pgx.Conn) (serverSample, error) {
	sm := serverSample{At: time.Now(), OK: true}
	if err := conn.QueryRow(ctx, sessionsSQL).Scan(&sm.Recovery, &sm.Sessions); err != nil {
		return sm, err
	}
	err := conn.QueryRow(ctx, activitySQL).Scan(&sm.Conns)
	return sm, err
}

func (s *sampler) add(n *patronitest.Node, sm serverSample, calls int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.series[n]
	if sm.Sessions >= 0 {
		switch {
		case se.lastSessions < 0:
		case sm.Sessions >= se.lastSessions:
			se.newSessions = append(se.newSessions, sessionCount{sm.At, sm.Sessions - se.lastSessions})
		default: // the statistics were reset (crash recovery)
			se.newSessions = append(se.newSessions, sessionCount{sm.At, sm.Sessions})
		}
		se.lastSessions = sm.Sessions
	}
	se.samples = append(se.samples, sm)
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
