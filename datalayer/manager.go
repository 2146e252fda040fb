package datalayer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/plugin"
	"github.com/prompt-improver/unifieddb/registry"
)

// Manager is the unified connection manager: one GORM handle over every node,
// routing by mode.
type Manager struct {
	cfg    Config
	db     *gorm.DB
	plugin *plugin.Plugin
	reg    *registry.Registry
	log    *slog.Logger
	// migs are the SQL migrations of each cluster (DefaultCluster and every
	// named one) and where they run: WithMigrations's or migrations_dir's,
	// WithClusterMigrations's or clusters.NAME.migrations_dir's.
	migs map[string]*migrationSite
	// modes[m] is a session already marked with mode m: m.Conn only adds
	// the context, at the cost of plain GORM's WithContext.
	modes [5]*gorm.DB

	closeOnce sync.Once
	closeErr  error
}

// Option adjusts New.
type Option func(*options)

type options struct {
	log      *slog.Logger
	reg      *registry.Registry
	hooks    plugin.Hooks
	gormCfg  *gorm.Config
	connHook func(*pgx.ConnConfig)
	disc     plugin.Discoverer

	stmtHooks []plugin.StatementHook

	migrations    fs.FS
	migrationsSet bool // WithMigrations was given, maybe with nil
	// clusterMigrations are WithClusterMigrations's, by cluster name
	// (maybe nil).
	clusterMigrations map[string]fs.FS
}

// WithLogger sends the Manager's log lines to l (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithHooks sets callbacks for node down/up, primary change and failover.
func WithHooks(h Hooks) Option { return func(o *options) { o.hooks = h } }

// WithGormConfig opens the GORM handle with c (NamingStrategy, NowFunc,
// TranslateError, Logger, ...), as gorm.Open(dialector, c) would. The
// Manager supplies the connection pool and installs the plugin; c's Logger
// nil keeps the Manager's quiet GORM logger. c itself is not modified.
func WithGormConfig(c *gorm.Config) Option { return func(o *options) { o.gormCfg = c } }

// WithConnConfig lets fn adjust the pgx settings of every connection the
// Manager opens, after the Manager's own: run-time parameters such as
// cc.RuntimeParams["TimeZone"] = "UTC", TLS settings, a custom dialer.
func WithConnConfig(fn func(cc *pgx.ConnConfig)) Option {
	return func(o *options) { o.connHook = fn }
}

// WithDiscoverer takes the node list from d (Consul, Kubernetes endpoints,
// ...) instead of the discovery key: at start, then every
// discovery_interval. host and replica_hosts are used when d's first answer
// fails. enable_ha must be true.
func WithDiscoverer(d Discoverer) Option { return func(o *options) { o.disc = d } }

// WithRegistry makes the Manager use r instead of a copy of the default
// registry.
func WithRegistry(r *registry.Registry) Option { return func(o *options) { o.reg = r } }

// WithMigrations hands the Manager the application's versioned SQL
// migrations, run by Migrate after AutoMigrate (and by Migrations): fsys's
// root holds the NNNNN_name.sql files (goose format); for an embed.FS of a
// directory pass fs.Sub(efs, "dir"). New rejects a nil fsys, and fsys
// together with migrations_dir. Without either, Migrate runs no SQL
// migration: the library ships none.
func WithMigrations(fsys fs.FS) Option {
	return func(o *options) { o.migrations, o.migrationsSet = fsys, true }
}

// New validates cfg, prepares one set of pools per node and installs the
// plugin. No connection is opened yet, so a node that is down at start does
// not stop it.
func New(ctx context.Context, cfg Config, opts ...Option) (*Manager, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	// Warnings of LoadConfig (unknown keys with unknown_keys: warn) are
	// easy to miss in a returned field: say them where the logs are read.
	for _, w := range cfg.Warnings {
		o.log.Warn("unifieddb: configuration", "warning", w)
	}
	if o.reg == nil {
		o.reg = registry.Default().Clone(registry.WithStrict(cfg.StrictMode), registry.WithLogger(o.log))
	}
	popts := cfg.pluginOptions(o.reg, o.log, o.hooks)
	if o.disc != nil {
		if !cfg.EnableHA {
			return nil, &ConfigError{Fields: []FieldError{{Field: "enable_ha", Problem: "must be true with WithDiscoverer: without it the primary is always host, which a discovered list does not keep"}}}
		}
		popts.Discovery = o.disc
	}
	popts.StatementHooks = o.stmtHooks
	if o.connHook != nil {
		popts.ConnConfig = func(addr plugin.Addr) (*pgx.ConnConfig, error) {
			cc, err := cfg.connConfig(addr)
			if err == nil {
				o.connHook(cc)
			}
			return cc, err
		}
	}
	if popts.Clusters = cfg.clusterOptions(o.hooks, o.connHook); popts.Clusters != nil {
		popts.Tables = cfg.PlacementTables()
		popts.Placer = o.reg
	}
	migs, err := o.migrationSites(cfg, popts.ConnConfig, popts.Clusters)
	if err != nil {
		return nil, err
	}
	p, err := plugin.New(popts)
	if err != nil {
		return nil, err
	}
	// No CreateBatchSize: it would turn every slice Create into
	// CreateInBatches, which is not what GORM's Create does (no
	// ErrEmptySlice, panics on arrays and map slices). batch_size reaches
	// the bulk paths through the plugin (plugin.BatchSize).
	gcfg := &gorm.Config{}
	if o.gormCfg != nil {
		*gcfg = *o.gormCfg
	}
	if gcfg.Logger == nil {
		gcfg.Logger = gormLogger(cfg, o.log)
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: p.ConnPool()}), gcfg)
	if err == nil {
		err = db.Use(p)
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("unifieddb: open: %w", err)
	}
	// Let the first probes find the primary, but never wait on a node that
	// is down for longer than one connection_timeout.
	wctx, cancel := context.WithTimeout(ctx, cfg.ConnectionTimeout)
	_ = p.WaitReady(wctx)
	cancel()
	m := &Manager{cfg: cfg, db: db, plugin: p, reg: o.reg, log: o.log, migs: migs}
	// Auto is what an unmarked statement gets; the other modes ride on the
	// session's pool (plugin.InMode): no clause to copy per call, no context
	// to derive per statement.
	m.modes[Auto] = db.Session(&gorm.Session{})
	for _, mode := range []Mode{ReadOnly, ReadWrite, Batch, Transactional} {
		m.modes[mode] = plugin.InMode(db, mode)
	}
	return m, nil
}

func (c Config) pluginOptions(reg *registry.Registry, log *slog.Logger, hooks plugin.Hooks) plugin.Options {
	var nodes []plugin.Addr
	for _, hp := range c.Nodes() {
		nodes = append(nodes, plugin.Addr{Host: hp.Host, Port: hp.Port})
	}
	pool := plugin.PoolConfig{
		MaxOpen:          c.PoolSize + c.MaxOverflow,
		MaxIdle:          c.PoolSize,
		MaxLifetime:      c.PoolRecycle,
		StatementTimeout: c.StatementTimeout,
	}
	batch, tx := pool, pool
	batch.MaxOpen, batch.MaxIdle, batch.StatementTimeout = c.BatchPoolSize, c.BatchPoolSize, c.BatchStatementTimeout
	tx.MaxOpen, tx.MaxIdle = c.TransactionalPoolSize, c.TransactionalPoolSize
	return plugin.Options{
		Nodes:             nodes,
		Discovery:         c.discoverer(),
		DiscoveryInterval: c.DiscoveryInterval,
		ConnConfig:        c.connConfig,
		Pool:              pool,
		Batch:             batch,
		Transactional:     tx,
		BatchSize:         c.BatchSize,
		PoolTimeout:       c.PoolTimeout,
		FailoverTimeout:   c.FailoverTimeout,
		FallbackToPrimary: c.FallbackToPrimary,
		Registrar:         reg,
		AutoRegister:      !c.StrictMode,
		RequireRegistered: c.StrictMode,
		Logger:            log,

		EnableHA:               c.EnableHA,
		HealthChecks:           c.EnableHealthChecks,
		HealthCheckInterval:    c.HealthCheckInterval,
		ProbeTimeout:           c.ConnectionTimeout,
		MaxReplicationLag:      c.MaxReplicationLag,
		ReplicaPolicy:          c.ReplicaPolicy,
		ReadYourWritesTimeout:  c.ReadYourWritesTimeout,
		InstanceReadYourWrites: c.ReadYourWritesScope == ReadYourWritesInstance,
		Hooks:                  hooks,
		Metrics:                c.EnableMetrics,
		Echo:                   c.Echo,
		Debug:                  c.DebugMode,
		TransactionPooling:     c.PgBouncer,
	}
}

// gormLogger keeps GORM quiet: the plugin logs statements itself (echo),
// with the node and mode GORM does not know. Slow statements still warn.
func gormLogger(cfg Config, log *slog.Logger) logger.Interface {
	level := logger.Silent
	if cfg.DebugMode {
		level = logger.Warn
	}
	return logger.NewSlogLogger(log, logger.Config{
		LogLevel:                  level,
		SlowThreshold:             time.Second,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true, // never log argument values: they may be secrets
	})
}

// Config returns the configuration the Manager runs with.
func (m *Manager) Config() Config { return m.cfg }

// DB returns the GORM handle, in Auto mode.
func (m *Manager) DB() *gorm.DB { return m.db }

// Conn is m.DB().WithContext(ctx).Clauses(mode) as a new GORM session: a
// handle to keep and reuse, whose statements each start from the mode alone
// (conditions of one never leak into the next). The mode rides on the
// handle's pool rather than in a clause (plugin.InMode), so a statement costs
// what plain GORM's WithContext(ctx) does; db.Clauses(otherMode) on the handle
// still overrides it.
func (m *Manager) Conn(ctx context.Context, mode Mode) *gorm.DB {
	if int(mode) < len(m.modes) {
		return m.modes[mode].WithContext(ctx)
	}
	return m.db.WithContext(ctx).Clauses(mode).Session(&gorm.Session{})
}

// Plugin returns the Manager's GORM plugin, for its health snapshot
// (Status, Probe) and statement figures (Metrics). Do not Close it: Close the
// Manager.
func (m *Manager) Plugin() *plugin.Plugin { return m.plugin }

// Registry returns the Manager's model registry; it follows strict_mode.
func (m *Manager) Registry() *registry.Registry { return m.reg }

// Transaction runs fn in a transaction on the primary's Transactional pool.
// A serialization failure (40001) or deadlock (40P01) re-runs fn, up to
// transaction_retries times with jittered backoff; any other error is returned
// as it is. fn must therefore be safe to run more than once.
func (m *Manager) Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return m.transaction(ctx, func() *gorm.DB { return m.Conn(ctx, Transactional) }, fn)
}

// transaction is Transaction on the handle on gives for each attempt.
func (m *Manager) transaction(ctx context.Context, on func() *gorm.DB, fn func(tx *gorm.DB) error) error {
	if fn == nil {
		return errors.New("unifieddb: Transaction: fn is nil")
	}
	backoff := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := on().Transaction(fn)
		if err == nil || attempt >= m.cfg.TransactionRetries || !plugin.IsRetryableTxError(err) {
			return err
		}
		m.log.Debug("unifieddb: retrying transaction", "attempt", attempt+1, "sqlstate", plugin.SQLState(err))
		sleep := backoff/2 + rand.N(backoff)
		backoff = min(backoff*2, time.Second)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (while retrying after: %w)", ctx.Err(), err)
		case <-time.After(sleep):
		}
	}
}

// Close closes every pool and stops every background job. Later calls fail
// with ErrClosed. It is idempotent.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		errs := []error{m.plugin.Close()}
		for _, s := range m.migs {
			errs = append(errs, s.direct.close())
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}
