package cluster

import (
	"database/sql/driver"
	"log/slog"
	"time"
)

// PoolConfig sizes one kind of pool.
type PoolConfig struct {
	// MaxOpen is the most connections the pool opens. Must be > 0.
	MaxOpen int
	// MaxIdle is how many idle connections it keeps. 0 keeps none.
	MaxIdle int
	// MaxLifetime recycles connections older than this. 0: never.
	MaxLifetime time.Duration
	// StatementTimeout is the server's statement_timeout for the pool's
	// sessions. 0: the server's setting.
	StatementTimeout time.Duration
}

// Options configure one cluster. The query path (package plugin) validates
// them and documents each; the fields mean what plugin.Options' fields of
// the same names mean.
type Options struct {
	// Name is the cluster's name when a handle holds several (statement
	// hooks label their figures with it), "" with one.
	Name                string
	Nodes               []Addr
	Discovery           Discoverer
	DiscoveryInterval   time.Duration
	ConnConfig          ConnConfigFunc
	Pool                PoolConfig // the write and read pools of every node
	Batch               PoolConfig
	Transactional       PoolConfig
	PoolTimeout         time.Duration
	EnableHA            bool
	HealthChecks        bool
	HealthCheckInterval time.Duration
	ProbeTimeout        time.Duration
	MaxReplicationLag   time.Duration
	ReplicaPolicy       string
	TransactionPooling  bool
	Hooks               Hooks
	Logger              *slog.Logger // nil: slog.Default()

	// The seams through which the cluster calls up into the query path,
	// which it does not import. Either may be nil.

	// Connector wraps the driver connector of each pool (the query path's
	// per-connection bookkeeping), before the pool's *sql.DB is opened on
	// it. It may set pl.Local.
	Connector func(pl *Pool, c driver.Connector) driver.Connector
	// DeferDeadCheck: the Connector's connections run the stale-socket
	// check of a reused connection themselves (Reused.Dead), before the
	// first thing they send, and may skip it for a statement that is safe
	// to retry elsewhere; the pool then does not peek when it hands a
	// connection out (see shouldPingLater).
	DeferDeadCheck bool
	// Failover is told of each failover after Hooks.Failover, on the hooks
	// goroutine (the query path's FailoverHooks).
	Failover func(old, primary Addr, at time.Time, took time.Duration)
}

func (o *Options) poolConfig(k PoolKind) PoolConfig {
	switch k {
	case PoolBatch:
		return o.Batch
	case PoolTx:
		return o.Transactional
	}
	return o.Pool
}
