package plugin

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// Registrar is what the plugin needs of a model registry
// (*registry.Registry implements it).
type Registrar interface {
	Register(models ...any) error
	Lookup(model any) (table string, ok bool)
}

// Options configure the plugin. Nodes and ConnConfig are required.
type Options struct {
	// Nodes are the servers. Nodes[0] is taken as the primary and the rest
	// as replicas until health checks say otherwise. With Discovery they are
	// the list used when the first Discover fails (may then be empty).
	Nodes []Addr
	// Discovery, when set, gives the node list: at start and every
	// DiscoveryInterval, members added or removed are picked up at run time.
	// nil: Nodes, never changed (the static list). Needs EnableHA.
	Discovery Discoverer
	// DiscoveryInterval is the time between two Discover calls. Must be > 0
	// with Discovery.
	DiscoveryInterval time.Duration
	// ConnConfig returns the connection settings of one node.
	ConnConfig ConnConfigFunc
	// Pool sizes the write and read pools of every node.
	Pool PoolConfig
	// Batch sizes the Batch pool (used on the primary).
	Batch PoolConfig
	// Transactional sizes the Transactional pool (used on the primary).
	Transactional PoolConfig
	// BatchSize is the rows per INSERT statement of the data layer's bulk
	// paths (repos.CreateMany), read back with BatchSize(db). It never
	// changes what GORM's Create does. 0: the caller's default.
	BatchSize int
	// PoolTimeout bounds the wait for a free connection. Must be > 0.
	PoolTimeout time.Duration
	// FailoverTimeout bounds how long a statement waits for a usable node.
	// Must be > 0.
	FailoverTimeout time.Duration
	// FallbackToPrimary lets reads use the primary when no replica is usable.
	FallbackToPrimary bool
	// Registrar, when set, learns every model the plugin sees
	// (AutoRegister), or is asked whether a model is known (RequireRegistered).
	Registrar Registrar
	// AutoRegister registers every model seen in a statement.
	AutoRegister bool
	// RequireRegistered refuses statements on models the Registrar does not
	// know, with ErrUnregisteredModel.
	RequireRegistered bool
	// Logger receives the plugin's log lines. nil: slog.Default().
	Logger *slog.Logger

	// EnableHA lets the primary be any node that is not in recovery (found
	// by probes); without it the primary is always Nodes[0].
	EnableHA bool
	// HealthChecks probes every node every HealthCheckInterval in the
	// background. Without it nodes are probed only after a failure.
	HealthChecks bool
	// HealthCheckInterval is the time between two probes of a node. Must be > 0.
	HealthCheckInterval time.Duration
	// ProbeTimeout bounds one probe (connect and query). Must be > 0.
	ProbeTimeout time.Duration
	// MaxReplicationLag keeps replicas further behind out of read rotation.
	// 0: no limit.
	MaxReplicationLag time.Duration
	// ReplicaPolicy picks among replicas: PolicyRoundRobin (default),
	// PolicyRandom or PolicyLeastLatency.
	ReplicaPolicy string
	// ReadYourWritesTimeout bounds how long a read-your-writes read waits for
	// a replica to catch up before it uses the primary.
	ReadYourWritesTimeout time.Duration
	// InstanceReadYourWrites makes every Auto read see every write made
	// through the plugin, as if every context were one read-your-writes
	// context (without its monotonic reads): after a write, reads go only to
	// replicas that replayed it, waiting up to ReadYourWritesTimeout, else to
	// the primary. Off: only contexts of WithReadYourWrites do.
	InstanceReadYourWrites bool
	// TransactionPooling says a pooler in transaction mode (PgBouncer's
	// pool_mode = transaction) stands in front of every node: no session
	// parameter is sent at connection start (default_transaction_read_only,
	// statement_timeout), statements run unprepared, and ReadOnly statements
	// outside a transaction each run in a read-only transaction. ConnConfig
	// must then use an exec mode that needs no server-side prepared
	// statement (pgx.QueryExecModeSimpleProtocol or QueryExecModeExec).
	TransactionPooling bool
	// Hooks are optional event callbacks.
	Hooks Hooks
	// Metrics counts statements, errors, retries and latency per node and
	// mode. Off, the query path does no accounting.
	Metrics bool
	// Echo logs every statement with its node, mode and duration (never its
	// arguments).
	Echo bool
	// StatementHooks see every statement attempt, after the metrics and
	// echo (which are hooks too). None: the query path does no accounting
	// for them. A hook that is also a FailoverHook sees failovers.
	StatementHooks []StatementHook
	// Debug logs routing and health decisions.
	Debug bool

	// Clusters are the named clusters beside the default one the fields
	// above describe. Each entry's cluster fields (Nodes, Discovery,
	// ConnConfig, the pools, timeouts, HA and health checks, lag,
	// ReplicaPolicy, FallbackToPrimary, ReadYourWritesTimeout,
	// TransactionPooling, Hooks) configure that cluster; the plugin-wide
	// ones (Registrar, Placer, Tables, Metrics, Echo, StatementHooks, Logger,
	// Debug, InstanceReadYourWrites) are taken from the top level. A name is
	// lowercase letters, digits and _, starting with a letter, never
	// DefaultCluster. Statements find their cluster as placement.go says.
	Clusters map[string]Options
	// Tables places tables on named clusters (table name -> cluster name).
	Tables map[string]string
	// Placer, when set, places models on named clusters (the registry's
	// Place); asked once per model.
	Placer Placer
}

func (o *Options) poolConfig(k cluster.PoolKind) PoolConfig {
	switch k {
	case cluster.PoolBatch:
		return o.Batch
	case cluster.PoolTx:
		return o.Transactional
	}
	return o.Pool
}

func (o *Options) validate() error {
	var errs []error
	if len(o.Nodes) == 0 && o.Discovery == nil {
		errs = append(errs, errors.New("no nodes"))
	}
	if o.Discovery != nil && o.DiscoveryInterval <= 0 {
		errs = append(errs, errors.New("DiscoveryInterval must be > 0 with Discovery"))
	}
	if o.Discovery != nil && !o.EnableHA {
		// Without HA the primary is the first node, which a changing list
		// does not keep.
		errs = append(errs, errors.New("Discovery needs EnableHA"))
	}
	if len(o.Nodes) > 64 {
		errs = append(errs, errors.New("more than 64 nodes"))
	}
	for i, a := range o.Nodes {
		if a.Host == "" || a.Port <= 0 || a.Port > 65535 {
			errs = append(errs, fmt.Errorf("node %d: bad address %q", i, a.String()))
		}
	}
	if o.ConnConfig == nil {
		errs = append(errs, errors.New("no ConnConfig"))
	}
	for k := cluster.PoolKind(0); k < cluster.PoolKinds; k++ {
		if o.poolConfig(k).MaxOpen <= 0 {
			errs = append(errs, fmt.Errorf("%s pool: MaxOpen must be > 0", k))
		}
	}
	if o.PoolTimeout <= 0 {
		errs = append(errs, errors.New("PoolTimeout must be > 0"))
	}
	if o.FailoverTimeout <= 0 {
		errs = append(errs, errors.New("FailoverTimeout must be > 0"))
	}
	if o.HealthCheckInterval <= 0 {
		errs = append(errs, errors.New("HealthCheckInterval must be > 0"))
	}
	if o.ProbeTimeout <= 0 {
		errs = append(errs, errors.New("ProbeTimeout must be > 0"))
	}
	switch o.ReplicaPolicy {
	case "", PolicyRoundRobin, PolicyRandom, PolicyLeastLatency:
	default:
		errs = append(errs, fmt.Errorf("unknown ReplicaPolicy %q", o.ReplicaPolicy))
	}
	if (o.AutoRegister || o.RequireRegistered) && o.Registrar == nil {
		errs = append(errs, errors.New("AutoRegister and RequireRegistered need a Registrar"))
	}
	for name, c := range o.Clusters {
		switch {
		case name == DefaultCluster || !clusterName.MatchString(name):
			errs = append(errs, fmt.Errorf("cluster name %q: lowercase letters, digits and _, starting with a letter; not %q", name, DefaultCluster))
		case len(c.Clusters) > 0:
			errs = append(errs, fmt.Errorf("cluster %s: a cluster has no clusters of its own", name))
		default:
			if err := c.validate(); err != nil {
				errs = append(errs, fmt.Errorf("cluster %s: %w", name, err))
			}
		}
	}
	for table, name := range o.Tables {
		if _, ok := o.Clusters[name]; !ok && name != DefaultCluster {
			errs = append(errs, fmt.Errorf("table %s: %w %q", table, ErrUnknownCluster, name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unifieddb: plugin options: %w", err)
	}
	return nil
}

// clusterName is what a cluster's name looks like.
var clusterName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// clusterOptions are the cluster's share of the options, with the seams
// through which it calls up into the query path.
func (p *Plugin) clusterOptions(o *Options, s *site) cluster.Options {
	return cluster.Options{
		Nodes: o.Nodes, Discovery: o.Discovery, DiscoveryInterval: o.DiscoveryInterval,
		ConnConfig: o.ConnConfig, Pool: o.Pool, Batch: o.Batch, Transactional: o.Transactional,
		PoolTimeout: o.PoolTimeout, EnableHA: o.EnableHA, HealthChecks: o.HealthChecks,
		HealthCheckInterval: o.HealthCheckInterval, ProbeTimeout: o.ProbeTimeout,
		MaxReplicationLag: o.MaxReplicationLag, ReplicaPolicy: o.ReplicaPolicy,
		TransactionPooling: o.TransactionPooling, Hooks: o.Hooks, Logger: p.log,
		Connector: p.connector(o, s), Failover: p.failover,
		DeferDeadCheck: true, // drvConn.sendable
	}
}
