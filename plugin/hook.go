package plugin

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// Statement is one attempt of a statement, as StatementHooks see it. A call
// retried on another node is several attempts: one Statement each, numbered
// by Attempt, the last one with Last set.
type Statement struct {
	Mode Mode
	// Node is the host:port that ran the attempt.
	Node string
	// Cluster is the name of the node's cluster when the handle holds
	// several ("default" for the top-level one), "" with one cluster.
	Cluster string
	// Pool is the node's pool it used: "write", "read", "batch" or
	// "transactional".
	Pool string
	// Query is the SQL with its placeholders, never argument values.
	Query string
	// Start is when the attempt began; Duration how long it ran.
	Start    time.Time
	Duration time.Duration
	// Rows is the count of rows an Exec affected; -1 when not known (a
	// query's rows are read by the caller after the hooks ran).
	Rows int64
	// Err is the attempt's error. On the last attempt it is the error the
	// call returns, with the plugin's sentinels (ErrOutcomeUnknown, ...).
	Err error
	// Attempt numbers the attempts of one call from 1: 2 is the first retry.
	Attempt int
	// Last: no retry follows; Err is the call's result.
	Last bool
	// OutcomeKnown is false when Err is ErrOutcomeUnknown: a write was sent
	// and the connection broke, so it may or may not have been applied.
	OutcomeKnown bool

	node *cluster.Node // for the built-in hooks
}

// Operation is the statement's first SQL keyword in upper case (SELECT,
// INSERT, ...), "" when there is none.
func (s *Statement) Operation() string {
	q := strings.TrimLeft(s.Query, " \t\r\n(")
	end := 0
	for end < len(q) && isWordByte(q[end]) {
		end++
	}
	return strings.ToUpper(q[:end])
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// StatementHook sees every statement attempt the plugin runs, routed or in a
// transaction, once the attempt's fate is known: right after it when it is
// the last, before the next attempt starts when it is retried. It runs on
// the caller's goroutine, on the query path: keep it short and do not
// block. s is a copy; the hook may keep it.
type StatementHook interface {
	Statement(ctx context.Context, s Statement)
}

// StatementFunc adapts a function to a StatementHook.
type StatementFunc func(ctx context.Context, s Statement)

// Statement implements StatementHook.
func (f StatementFunc) Statement(ctx context.Context, s Statement) { f(ctx, s) }

// FailoverHook may be implemented by a StatementHook to also see failovers.
// Failover is called like Hooks.Failover, on the effects goroutine:
// primary took over from old at at, took after old was last
// seen healthy.
type FailoverHook interface {
	Failover(old, primary Addr, at time.Time, took time.Duration)
}

// attempts tracks the attempts of one call, so each is reported once its
// fate is known. It lives on the caller's stack: no allocation.
type attempts struct {
	p       *Plugin
	mode    Mode
	query   string
	pl      *cluster.Pool // of the pending attempt; nil when none is pending
	start   time.Time
	d       time.Duration
	rows    int64
	err     error
	attempt int
	// mono: the attempt's start on the monotonic clock (cluster.MonoNanos)
	// when the metrics are the only hook (Plugin.metricsOnly), which need
	// its duration only; start then stays zero.
	mono int64
}

// begin marks the start of an attempt, reporting the one before it (which
// is being retried).
func (a *attempts) begin(ctx context.Context) {
	if a.pl != nil {
		a.report(ctx, false, a.err)
	}
	if a.p.metricsOnly {
		a.mono = cluster.MonoNanos()
		return
	}
	a.start = a.p.clock()
}

// ran records the attempt that began last: it ran on pl, affected rows (-1:
// unknown) and failed with err.
func (a *attempts) ran(pl *cluster.Pool, rows int64, err error) {
	a.attempt++
	a.pl, a.rows, a.err = pl, rows, err
	if a.mono != 0 {
		a.d = time.Duration(cluster.MonoNanos() - a.mono)
	} else if !a.start.IsZero() {
		a.d = time.Since(a.start)
	}
}

// end reports the last attempt with the call's error.
func (a *attempts) end(ctx context.Context, err error) {
	if a.pl != nil {
		a.report(ctx, true, err)
	}
}

func (a *attempts) report(ctx context.Context, last bool, err error) {
	pl := a.pl
	a.pl = nil
	if a.p.metricsOnly {
		// What metricsHook takes from a Statement, without building one
		// (issue 21: the default configuration's only hook).
		a.p.observe(ctx, pl.Node, a.mode, a.d, err, a.attempt)
		return
	}
	a.p.statement(ctx, a.mode, pl, a.query, a.start, a.d, a.rows, err, a.attempt, last)
}

// statement reports one attempt to every hook: the built-in ones (metrics,
// echo) and the user's, in that order. The Statement is passed by value so
// that reporting allocates nothing.
func (p *Plugin) statement(ctx context.Context, mode Mode, pl *cluster.Pool, query string, start time.Time, d time.Duration, rows int64, err error, attempt int, last bool) {
	if start.IsZero() {
		return // no hook: clock() did not even read the time
	}
	s := Statement{
		Mode: mode, Node: pl.Node.Name, Cluster: pl.Node.ClusterName(), Pool: pl.Kind.String(), Query: query,
		Start: start, Duration: d, Rows: rows, Err: err, Attempt: attempt, Last: last,
		OutcomeKnown: err == nil || !errors.Is(err, ErrOutcomeUnknown),
		node:         pl.Node,
	}
	for _, h := range p.hooks {
		h.Statement(ctx, s)
	}
}

// clock returns the start time of an attempt, or the zero time when no hook
// would see it.
func (p *Plugin) clock() time.Time {
	if len(p.hooks) > 0 {
		return time.Now()
	}
	return time.Time{}
}

// rowsOf is the Rows of an Exec's attempt: -1 unless a user hook may read
// it, as reading it takes database/sql's result mutex, which the query
// path otherwise skips.
func (p *Plugin) rowsOf(res sql.Result) int64 {
	if !p.userHooks || res == nil {
		return -1
	}
	n, err := res.RowsAffected()
	if err != nil {
		return -1
	}
	return n
}

// statementHooks lists the hooks of opts: the built-in ones first.
func (p *Plugin) statementHooks() []StatementHook {
	var hs []StatementHook
	if p.opts.Metrics {
		hs = append(hs, metricsHook{p})
	}
	if p.opts.Echo {
		hs = append(hs, echoHook{p.log})
	}
	for _, h := range p.opts.StatementHooks {
		if h != nil {
			hs = append(hs, h)
			p.userHooks = true
		}
	}
	p.metricsOnly = len(hs) == 1 && p.opts.Metrics
	return hs
}
