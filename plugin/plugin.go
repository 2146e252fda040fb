// Package plugin is the GORM plugin of unifieddb: it resolves each statement
// to a node by mode, keeps one set of pools per node, and retries where that
// is safe. The cluster itself (members, pools, probes, failover) is package
// internal/cluster; this package is the query path on top of it.
package plugin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// Name is the plugin's name in gorm.Config.Plugins.
const Name = "unifieddb"

// Plugin is the gorm.Plugin. Install it with db.Use(p); it takes over the
// db's connection pool.
type Plugin struct {
	opts Options
	log  *slog.Logger
	site // the default cluster's query-path state
	// sites are the clusters by name, the default one too; nil with one
	// cluster, so that its statements look nothing up (see placement.go).
	sites map[string]*site
	// placed caches each model's cluster: *schema.Schema -> *site.
	placed sync.Map
	// tableSites are Options.Tables' sites and tablePlacer Options.Placer
	// when it can place a table by name: the clusters of tables named in
	// SQL text (crossrefs.go). Set with sites.
	tableSites  map[string]*site
	tablePlacer TablePlacer
	// With several clusters: the virtual pool of lazily begun
	// transactions, its PrepareStmt cache, and the entries that begin
	// them (lazytx.go). Unset with one cluster.
	lazyDB      *sql.DB
	lazyStmts   *gorm.PreparedStmtDB
	lazyEntries [modeCount]*route

	closed   atomic.Bool
	seen     sync.Map // *schema.Schema already registered or checked
	initOnce atomic.Bool

	modeStats [modeCount]cluster.Counters
	hooks     []StatementHook // metrics, echo, then Options.StatementHooks
	userHooks bool            // Options.StatementHooks has one
	// metricsOnly: the metrics are the only hook (the default), so an
	// attempt reports to them directly, timed on the monotonic clock.
	metricsOnly bool

	// lsnSeam, when set (by tests), answers askLSN instead of the node.
	lsnSeam func(ctx context.Context, pl *cluster.Pool, query string) (int64, error)
}

// site is the query path's state of one cluster: the cluster, the routes
// statements take to it and its read-your-writes state.
type site struct {
	name   string   // DefaultCluster, or the key of Options.Clusters
	named  bool     // not the default cluster
	opts   *Options // the cluster's options (failover_timeout, ...)
	c      *cluster.Cluster
	routes [modeCount][opKinds]*route
	// entries[m] is where db.Clauses(m) points a statement before the
	// callbacks refine it: the pool Begin uses.
	entries [modeCount]*route
	// inst is the read-your-writes state of every Auto read with
	// Options.InstanceReadYourWrites, nil without it.
	inst *rywState
}

// New prepares the plugin: one set of pools per node, opened lazily, so a
// node that is down does not stop it, and one probe loop per node. Until the
// first probes answer, Nodes[0] is taken as the primary and the others as
// replicas. Close stops the loops.
func New(opts Options) (*Plugin, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p := &Plugin{opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.hooks = p.statementHooks()
	co := p.clusterOptions(&p.opts, &p.site)
	if len(opts.Clusters) > 0 {
		co.Name = DefaultCluster // several clusters: label this one too
	}
	c, err := cluster.New(co)
	if err != nil {
		return nil, err
	}
	p.c = c
	p.setRoutes(&p.site, DefaultCluster, &p.opts)
	if len(opts.Clusters) > 0 {
		if err := p.openSites(); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// setRoutes makes s the query path of the cluster name with options o
// (s.c already opened): its routes and read-your-writes state.
func (p *Plugin) setRoutes(s *site, name string, o *Options) {
	s.name, s.named, s.opts = name, name != DefaultCluster, o
	if p.opts.InstanceReadYourWrites {
		s.inst = &rywState{instance: true}
	}
	s.routes = newRoutes(p, s)
	for m := Mode(0); m < modeCount; m++ {
		s.entries[m] = s.routes[m][opWrite]
	}
}

// WaitReady waits until every node answered (or failed) its first probe, or
// ctx ends; routing is right from the first statement after it. It also
// waits, up to a second, for replicas whose lag is not known yet: one a few
// milliseconds behind is known at its next probe.
func (p *Plugin) WaitReady(ctx context.Context) error {
	for _, s := range p.allSites() {
		if err := s.c.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return Name }

// Initialize implements gorm.Plugin: it registers the routing callbacks and
// makes the plugin the db's connection pool.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if !p.initOnce.CompareAndSwap(false, true) {
		return errors.New("unifieddb: the plugin is already installed on a gorm.DB")
	}
	if err := p.registerCallbacks(db); err != nil {
		return err
	}
	var root gorm.ConnPool = p.entry(Auto)
	if ps, ok := db.ConnPool.(*gorm.PreparedStmtDB); ok && ps.ConnPool == root {
		// gorm.Config{PrepareStmt: true} around the plugin's pool: GORM's
		// wrapper stays, as without the plugin (see prepare.go).
		root = ps
	}
	db.ConnPool = root
	if db.Statement != nil {
		db.Statement.ConnPool = root
	}
	return nil
}

// Close closes every pool. Later statements fail with ErrClosed. It is
// idempotent.
func (p *Plugin) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	errs := []error{p.c.Close()}
	if p.lazyDB != nil {
		errs = append(errs, p.lazyDB.Close())
	}
	for _, s := range p.sites {
		if s != &p.site && s.c != nil {
			errs = append(errs, s.c.Close())
		}
	}
	return errors.Join(errs...)
}

// Status returns the latest health snapshot; it does not probe.
func (p *Plugin) Status() ClusterStatus { return p.c.Status() }

// Probe asks every node for a probe now and waits for the answers (or ctx).
// With several clusters it probes every cluster's nodes.
func (p *Plugin) Probe(ctx context.Context) error {
	for _, s := range p.allSites() {
		if err := s.c.Probe(ctx); err != nil {
			return err
		}
	}
	return nil
}

// WaitPrimary waits until a probe found a writable primary (one only
// assumed at start does not count). It does not wait for replicas: reads
// go to the primary while none is in rotation (fallback_to_primary), or
// fail with ErrNoHealthyNode. It returns at once an *UnavailableError with
// Permanent set when every node failed for a fault waiting cannot cure,
// and when ctx ends, ctx's error joined to an *UnavailableError naming each
// node's last error.
func (p *Plugin) WaitPrimary(ctx context.Context) error { return p.c.WaitPrimary(ctx) }

// connector is the cluster's seam for each pool's driver connector: the
// plugin's bookkeeping of every statement on it (drvconn.go), and the pool's
// prepared statements (prepare.go).
func (p *Plugin) connector(o *Options, s *site) func(pl *cluster.Pool, c driver.Connector) driver.Connector {
	return func(pl *cluster.Pool, c driver.Connector) driver.Connector {
		pl.Local = &stmtCache{unprepared: o.TransactionPooling}
		return connector{Connector: c, pl: pl, p: p, s: s, ro: o.TransactionPooling}
	}
}

// failover is the cluster's seam for failovers: the FailoverHooks among the
// statement hooks see them, after Hooks.Failover.
func (p *Plugin) failover(old, primary Addr, at time.Time, took time.Duration) {
	for _, h := range p.hooks {
		if fh, ok := h.(FailoverHook); ok {
			fh.Failover(old, primary, at, took)
		}
	}
}

// ConnPool returns the plugin's Auto-mode pool, for gorm.Open:
// postgres.New(postgres.Config{Conn: p.ConnPool()}).
func (p *Plugin) ConnPool() gorm.ConnPool { return p.entry(Auto) }

// debug logs a routing decision when debug logging is on.
func (p *Plugin) debug(msg string, args ...any) {
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug(msg, args...)
	}
}
