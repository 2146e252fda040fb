package datalayer

import "go.yaml.in/yaml/v3"

// legacyRule says where a legacy key goes: to a unified key (when several
// legacy keys go to one, the lowest prio wins), or nowhere, for reason.
type legacyRule struct {
	to     string
	prio   int
	reason string
}

// Reasons of keys that have no unified equivalent.
const (
	reasonPrePing   = "background health checks (enable_health_checks) replace pre-ping"
	reasonIsolation = "set per transaction (sql.TxOptions in m.Transaction's db.Transaction)"
	reasonOneOver   = "one max_overflow applies to every pool"
	reasonUnknown   = "not a known legacy key"
)

// legacyRules maps "section.key" of the legacy layout. A legacy key that is
// not listed but is a unified key name is carried to that key (prio 5).
var legacyRules = map[string]legacyRule{
	"database.host":            {to: "host"},
	"database.port":            {to: "port"},
	"database.database":        {to: "database"},
	"database.name":            {to: "database", prio: 1},
	"database.username":        {to: "username"},
	"database.user":            {to: "username", prio: 1},
	"database.password":        {to: "password"},
	"database.sync_pool_size":  {to: "pool_size", prio: 1},
	"database.pool_size":       {to: "pool_size", prio: 2},
	"database.async_pool_size": {to: "pool_size", prio: 3},
	"database.max_overflow":    {to: "max_overflow", prio: 1},
	"database.pool_timeout":    {to: "pool_timeout"},
	"database.pool_recycle":    {to: "pool_recycle"},
	"database.echo":            {to: "echo"},
	"database.connect_timeout": {to: "connection_timeout", prio: 1},
	"database.command_timeout": {to: "statement_timeout", prio: 1},
	"database.ssl_mode":        {to: "sslmode", prio: 1},
	"database.pool_pre_ping":   {reason: reasonPrePing},
	"database.echo_pool":       {reason: "no pool event log; debug_mode logs routing and health decisions"},
	"database.isolation_level": {reason: reasonIsolation},
	"database.driver":          {reason: "always PostgreSQL through pgx"},
	"database.dialect":         {reason: "always PostgreSQL through pgx"},
	"database.url":             {reason: "connection URLs are not read: set host, port, database, username and password"},
	"database.dsn":             {reason: "connection URLs are not read: set host, port, database, username and password"},
	"database.schema":          {reason: "set search_path on the database role instead"},

	"ha_database.primary_host":          {to: "host", prio: 1},
	"ha_database.primary_port":          {to: "port", prio: 1},
	"ha_database.replica_hosts":         {to: "replica_hosts"},
	"ha_database.failover_timeout":      {to: "failover_timeout"},
	"ha_database.health_check_interval": {to: "health_check_interval"},
	"ha_database.enable_ha":             {to: "enable_ha"},
	"ha_database.enabled":               {to: "enable_ha", prio: 1},
	"ha_database.max_replication_lag":   {to: "max_replication_lag"},
	"ha_database.load_balancing":        {to: "replica_policy", prio: 1},
	"ha_database.auto_failover":         {reason: "failover is automatic when enable_ha is true"},
	"ha_database.health_check_timeout":  {reason: "a health-check round is bounded by connection_timeout"},
	// ha_database.replica_port is handled by migrateReplicaPort.

	"connection_pools.mcp_pool_size":      {to: "pool_size"},
	"connection_pools.ml_pool_size":       {to: "batch_pool_size"},
	"connection_pools.admin_pool_size":    {to: "transactional_pool_size"},
	"connection_pools.max_overflow":       {to: "max_overflow"},
	"connection_pools.pool_timeout":       {to: "pool_timeout", prio: 1},
	"connection_pools.pool_recycle":       {to: "pool_recycle", prio: 1},
	"connection_pools.readonly_pool_size": {reason: "ReadOnly work uses the replicas' pools, sized by pool_size"},
	"connection_pools.pool_pre_ping":      {reason: reasonPrePing},
	"connection_pools.mcp_max_overflow":   {reason: reasonOneOver},
	"connection_pools.ml_max_overflow":    {reason: reasonOneOver},
	"connection_pools.admin_max_overflow": {reason: reasonOneOver},

	"session_management.enable_async":     {reason: "always on: every call takes a context and is safe for concurrent use"},
	"session_management.expire_on_commit": {reason: "GORM has no session identity map: nothing is expired on commit"},
	"session_management.autoflush":        {reason: "GORM sends each write when it is made: there is nothing to flush"},
	"session_management.autocommit":       {reason: "statements outside m.Transaction run in autocommit mode"},
	"session_management.scoped_session":   {reason: "there are no scoped sessions: pass the context and the *gorm.DB"},
	"session_management.isolation_level":  {reason: reasonIsolation},
	"session_management.echo":             {to: "echo", prio: 1},
	// No unified key is close: statement_timeout bounds one statement and
	// pool_recycle one connection, neither a unit of work.
	"session_management.session_timeout": {reason: "there are no long-lived sessions to expire: bound each call with its context's deadline " +
		"(statement_timeout bounds one statement, pool_recycle one connection's lifetime)"},
}

// legacyEntry is one key/value of a legacy section.
type legacyEntry struct {
	key   string // "section.key"
	value *yaml.Node
	rule  legacyRule
}
