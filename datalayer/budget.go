package datalayer

// ConnectionBudget is how many connections one instance (one Manager) may
// open on one node, pool by pool, from the configuration. Every node gets
// every pool: the pools open lazily, but any node may become the primary
// (write, batch and transactional pools) and the primary serves reads
// when no replica does (read pool). Size a cluster with it: N instances
// fit when N*PerNode <= max_connections - superuser_reserved_connections
// - reserved_connections (PostgreSQL 16+) on every node.
//
// Each named cluster (Config.Clusters) has its own budget, from its own
// section (Config.Clusters[name].ConnectionBudget()): the health report
// shows it in that cluster's section and doctor checks it against that
// cluster's primary.
type ConnectionBudget struct {
	Write         int `json:"write"`         // pool_size + max_overflow
	Read          int `json:"read"`          // pool_size + max_overflow
	Batch         int `json:"batch"`         // batch_pool_size
	Transactional int `json:"transactional"` // transactional_pool_size
	Probe         int `json:"probe"`         // the health probe's own connection
	PerNode       int `json:"per_node"`      // the sum
	// Migration is the extra connections to migration_host while the SQL
	// migrations run (0 when migration_host is not set: they use the
	// transactional pool).
	Migration int `json:"migration,omitempty"`
}

// ConnectionBudget computes c's budget.
func (c Config) ConnectionBudget() ConnectionBudget {
	b := ConnectionBudget{
		Write:         c.PoolSize + c.MaxOverflow,
		Read:          c.PoolSize + c.MaxOverflow,
		Batch:         c.BatchPoolSize,
		Transactional: c.TransactionalPoolSize,
		Probe:         1,
	}
	b.PerNode = b.Write + b.Read + b.Batch + b.Transactional + b.Probe
	if c.MigrationHost != "" {
		b.Migration = directMaxConns
	}
	return b
}

// Fit is how many instances fit in usable connections per node.
func (b ConnectionBudget) Fit(usable int) int {
	if b.PerNode <= 0 || usable <= 0 {
		return 0
	}
	return usable / b.PerNode
}
