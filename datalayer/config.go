package datalayer

import (
	"time"
)

// Values of Config.Discovery (`discovery`).
const (
	DiscoveryStatic  = "static"
	DiscoveryPatroni = "patroni"
	DiscoveryDNS     = "dns"
)

// Values of Config.UnknownKeys (`unknown_keys`).
const (
	UnknownKeysError = "error"
	UnknownKeysWarn  = "warn"
)

// Config is the unified configuration: the `database` section of the YAML file.
//
// Every field states its YAML key, unit, default (as set by DefaultConfig and
// LoadConfig) and what its zero value means. LoadConfig and ParseConfig start
// from DefaultConfig, so a key left out of the file keeps its default.
type Config struct {
	// Host is the first node (`host`). It is where the primary is looked for
	// first; with health checks the primary is discovered among Host and
	// ReplicaHosts. Default "localhost"; must not be empty.
	Host string
	// Port (`port`) of Host, and the default port of ReplicaHosts entries.
	// Default 5432. 1–65535.
	Port int
	// Database (`database`) is the database name. No default. Required.
	Database string
	// Username (`username`). Default "postgres".
	Username string
	// Password (`password`). Never printed: String, errors, logs and reports
	// redact it. Default empty (no password).
	Password string

	// PoolSize (`pool_size`) is how many idle connections each pool keeps.
	// Default 10. Must be > 0.
	PoolSize int
	// MaxOverflow (`max_overflow`) is how many connections a pool may open
	// beyond PoolSize: a pool holds at most PoolSize+MaxOverflow. Default 10. >= 0.
	MaxOverflow int
	// PoolTimeout (`pool_timeout`) is how long a caller waits for a free
	// connection before ErrPoolTimeout. Default 30s. Must be > 0.
	PoolTimeout time.Duration
	// PoolRecycle (`pool_recycle`) is the longest a connection lives before it
	// is replaced. Default 1h. 0 means connections are never recycled by age.
	PoolRecycle time.Duration

	// ReplicaHosts (`replica_hosts`) are the other nodes, each "host" or
	// "host:port" (port defaults to Port). Default none.
	ReplicaHosts []string
	// FailoverTimeout (`failover_timeout`) is how long a write waits for a
	// writable node before ErrNoPrimary. Default 30s. Must be > 0.
	FailoverTimeout time.Duration
	// HealthCheckInterval (`health_check_interval`) is the time between two
	// health-check rounds. Default 5s. Must be > 0.
	HealthCheckInterval time.Duration

	// StatementCacheSize (`statement_cache_size`) is pgx's per-connection cache
	// of prepared statements (statement_cache_capacity). Default 512. 0 turns
	// prepared-statement caching off (statements are described each time).
	StatementCacheSize int
	// PreparedStatementCacheSize (`prepared_statement_cache_size`) is pgx's
	// per-connection cache of statement descriptions used when
	// StatementCacheSize is 0 (description_cache_capacity). Default 512.
	// 0 turns it off.
	PreparedStatementCacheSize int
	// ConnectionTimeout (`connection_timeout`) bounds opening one connection
	// and one health-check round. Default 5s. Must be > 0.
	ConnectionTimeout time.Duration

	// EnableHA (`enable_ha`) lets the manager fail over between nodes. Default true.
	EnableHA bool
	// EnableMetrics (`enable_metrics`) turns per-query accounting on. Default true.
	EnableMetrics bool
	// EnableHealthChecks (`enable_health_checks`) runs background health-check
	// rounds. Default true.
	EnableHealthChecks bool
	// StrictMode (`strict_mode`) makes unknown keys and registry conflicts
	// errors, and turns model auto-registration off. Default false.
	StrictMode bool
	// Echo (`echo`) logs every SQL statement with its node, mode and duration.
	// Default false.
	Echo bool
	// DebugMode (`debug_mode`) also logs routing and health decisions. Default false.
	DebugMode bool

	// Extensions.

	// SSLMode (`sslmode`) is libpq's sslmode: disable, allow, prefer, require,
	// verify-ca, verify-full. Default "prefer".
	SSLMode string
	// ApplicationName (`application_name`) is shown in pg_stat_activity.
	// Default "unifieddb".
	ApplicationName string
	// MaxReplicationLag (`max_replication_lag`) keeps replicas further behind
	// than this out of read rotation. Default 10s. 0 means no limit.
	MaxReplicationLag time.Duration
	// ReplicaPolicy (`replica_policy`) picks among usable replicas:
	// round_robin, random or least_latency. Default "round_robin".
	ReplicaPolicy string
	// FallbackToPrimary (`fallback_to_primary`) lets reads use the primary when
	// no replica is usable. Default true.
	FallbackToPrimary bool
	// BatchPoolSize (`batch_pool_size`) is the size of the Batch pool on the
	// primary. Default 5. Must be > 0.
	BatchPoolSize int
	// BatchSize (`batch_size`) is how many rows one bulk insert statement
	// carries. Default 1000. Must be > 0.
	BatchSize int
	// TransactionalPoolSize (`transactional_pool_size`) is the size of the
	// Transactional pool on the primary. Default 5. Must be > 0.
	TransactionalPoolSize int
	// StatementTimeout (`statement_timeout`) is the server-side limit of one
	// statement on the normal pools. Default 0: the server's setting.
	StatementTimeout time.Duration
	// BatchStatementTimeout (`batch_statement_timeout`) is the same for the
	// Batch pool. Default 10m. 0: the server's setting.
	BatchStatementTimeout time.Duration
	// TransactionRetries (`transaction_retries`) is how many times
	// Manager.Transaction re-runs a transaction that failed with a
	// serialization failure (40001) or deadlock (40P01). Default 3. >= 0.
	TransactionRetries int
	// ReadYourWritesTimeout (`read_your_writes_timeout`) is how long a
	// read-your-writes read waits for a replica to catch up before it uses the
	// primary. Default 100ms. >= 0.
	ReadYourWritesTimeout time.Duration
	// ReadYourWritesScope (`read_your_writes_scope`) says which reads see
	// the writes made through the Manager. "context" (default): reads made
	// with a context of WithReadYourWrites see the writes made with it;
	// other reads may see a replica slightly behind. "instance": every Auto
	// read sees every write this Manager acknowledged, whatever its context,
	// at the cost of a WAL position question after each write (see
	// docs/performance.md).
	ReadYourWritesScope string
	// SimpleProtocol (`simple_protocol`) sends every statement with
	// PostgreSQL's simple query protocol, arguments interpolated by pgx on
	// the client: no server-side prepared statements, as PgBouncer in
	// transaction pooling mode needs. Default false.
	SimpleProtocol bool
	// PgBouncer (`pgbouncer`) says host and replica_hosts are PgBouncers in
	// transaction pooling mode (pool_mode = transaction), one in front of
	// each node. Then no session parameter is sent at connection start
	// (PgBouncer refuses default_transaction_read_only and statement_timeout
	// with 08P01), every statement uses the simple protocol (as
	// simple_protocol) and runs unprepared, each ReadOnly statement outside a
	// transaction runs in a BEGIN READ ONLY transaction of its own (two more
	// round trips), statement_timeout must be 0 and batch_statement_timeout
	// is not applied (set statement_timeout on the role, ALTER ROLE ... SET
	// statement_timeout, or PgBouncer's query_timeout), and Migrate needs
	// migration_host. Default false.
	PgBouncer bool
	// MigrationHost (`migration_host`) is "host" or "host:port" (port
	// defaults to Port) of the primary's PostgreSQL reached directly, not
	// through a pooler. The SQL migrations (Migrate, Migrations) run there:
	// goose's session advisory lock must stay on one server session, which
	// PgBouncer in transaction mode does not keep. AutoMigrate takes a
	// transaction-scoped lock and works through PgBouncer. Default empty:
	// the primary's Transactional pool; required with pgbouncer for Migrate.
	MigrationHost string
	// MigrationsDir (`migrations_dir`) is a directory of the application's
	// versioned SQL migrations (NNNNN_name.sql, goose format) that Migrate
	// and Migrations run; a relative path is taken from the process's
	// working directory. It must exist. Default empty: the migrations handed
	// with WithMigrations, else none (Migrate runs AutoMigrate only). In
	// clusters.NAME it is that cluster's (or WithClusterMigrations), run
	// on its migration_host or primary (MigrationsOn).
	MigrationsDir string
	// TCPKeepalive (`tcp_keepalive`) is the idle time before the first TCP
	// keepalive probe and the time between probes (3 probes), so a peer that
	// vanished (power loss, a dropped route) is noticed on an idle
	// connection. Default 15s. 0: the system's setting.
	TCPKeepalive time.Duration
	// TCPUserTimeout (`tcp_user_timeout`, Linux) is how long sent data may
	// stay unacknowledged before the kernel drops the connection, so a
	// statement sent into a black hole fails instead of waiting for TCP's
	// ~15 minutes of retransmissions. Default 30s. 0: the system's setting.
	TCPUserTimeout time.Duration

	// Discovery (`discovery`) is where the node list comes from: "static"
	// (host and replica_hosts, never changed), "patroni" (the members of
	// Patroni's GET /cluster at patroni_urls) or "dns" (every A/AAAA record
	// of discovery_dns_name, on port). With patroni or dns, members added or
	// removed are picked up every discovery_interval without a restart, and
	// host and replica_hosts are only used when the first lookup fails.
	// Default "static". patroni and dns need enable_ha.
	Discovery string
	// DiscoveryInterval (`discovery_interval`) is the time between two
	// lookups of the node list (patroni, dns); each is bounded by
	// connection_timeout. Default 10s. Must be > 0.
	DiscoveryInterval time.Duration
	// PatroniURLs (`patroni_urls`) are the base URLs of Patroni REST APIs
	// ("http://10.0.0.1:8008"), a list or one comma-separated string; the
	// first that answers gives the members. Required with discovery
	// patroni. A password in a URL is never printed.
	PatroniURLs []string
	// DiscoveryDNSName (`discovery_dns_name`) is the name whose A and AAAA
	// records are the nodes with discovery dns, each on port. Default "":
	// host.
	DiscoveryDNSName string

	// UnknownKeys (`unknown_keys`) is what LoadConfig and ParseConfig do
	// with a key of the section they do not know, such as `replica_host`
	// for `replica_hosts`: UnknownKeysError fails the load (a typo would
	// otherwise drop settings silently, e.g. every replica),
	// UnknownKeysWarn only lists it in Warnings. Default "error"; ""
	// means "error". strict_mode makes them errors whatever this says.
	UnknownKeys string

	// Clusters (`clusters`) are the named clusters, each a section with the
	// keys of a cluster (connection, nodes, discovery, pools, timeouts, TLS,
	// replication lag, migrations_dir) and its Tables; the top-level keys
	// are the cluster named "default". A key a section leaves out has the
	// top-level value, except host, port, replica_hosts, discovery,
	// patroni_urls, discovery_dns_name, migration_host and migrations_dir,
	// which have their defaults (see ClusterBase); a section must give host
	// or a discovery. After LoadConfig and ParseConfig each entry is
	// complete. Names match ^[a-z][a-z0-9_]*$ and are not "default".
	// Keys of the whole configuration (strict_mode, unknown_keys, echo,
	// debug_mode, enable_metrics, transaction_retries,
	// read_your_writes_scope) are not keys of a cluster: its Config holds
	// the top-level value, which is the one that counts. Default none.
	Clusters map[string]Config
	// Tables (`tables`, only inside a cluster) are the tables placed on
	// that cluster, by name ("orders", "audit.events"): statements on them
	// go there. A table is on at most one cluster; tables of no cluster
	// are on the default one. See PlacementTables.
	Tables []string

	// Warnings lists non-fatal problems found while loading (unknown keys
	// with unknown_keys: warn). Not a YAML key. New logs each at WARN.
	Warnings []string
}

// DefaultConfig returns the defaults documented on each Config field.
// Database must still be set.
func DefaultConfig() Config {
	return Config{
		Host:                       "localhost",
		Port:                       5432,
		Username:                   "postgres",
		PoolSize:                   10,
		MaxOverflow:                10,
		PoolTimeout:                30 * time.Second,
		PoolRecycle:                time.Hour,
		FailoverTimeout:            30 * time.Second,
		HealthCheckInterval:        5 * time.Second,
		StatementCacheSize:         512,
		PreparedStatementCacheSize: 512,
		ConnectionTimeout:          5 * time.Second,
		EnableHA:                   true,
		EnableMetrics:              true,
		EnableHealthChecks:         true,
		SSLMode:                    "prefer",
		ApplicationName:            "unifieddb",
		MaxReplicationLag:          10 * time.Second,
		ReplicaPolicy:              "round_robin",
		FallbackToPrimary:          true,
		BatchPoolSize:              5,
		BatchSize:                  1000,
		TransactionalPoolSize:      5,
		BatchStatementTimeout:      10 * time.Minute,
		TransactionRetries:         3,
		ReadYourWritesTimeout:      100 * time.Millisecond,
		ReadYourWritesScope:        ReadYourWritesContext,
		TCPKeepalive:               15 * time.Second,
		TCPUserTimeout:             30 * time.Second,
		Discovery:                  DiscoveryStatic,
		DiscoveryInterval:          10 * time.Second,
		UnknownKeys:                UnknownKeysError,
	}
}
