package datalayer

import (
	"github.com/jackc/pgx/v5"
	"github.com/prompt-improver/unifieddb/plugin"
)

// Several clusters behind one Manager (Config.Clusters): statements go to
// the cluster their explicit clause names (OnCluster, dbresolver.Use), else
// their model's (registry.Place), else their table's (`tables:`), else the
// default cluster's.

var (
	// ErrCrossCluster is the error of a statement that would need two
	// clusters (one in a transaction begun on another cluster): refused
	// before it reaches a server, in a *CrossClusterError.
	ErrCrossCluster = plugin.ErrCrossCluster
	// ErrUnknownCluster is returned for a cluster name no cluster has.
	ErrUnknownCluster = plugin.ErrUnknownCluster
)

// CrossClusterError names the clusters and tables a refused statement
// needed. It wraps ErrCrossCluster.
type CrossClusterError = plugin.CrossClusterError

// OnCluster returns a clause that sends a statement to the named cluster,
// whatever its model's or table's placement: db.Clauses(OnCluster("events")).
func OnCluster(name string) plugin.ClusterClause { return plugin.OnCluster(name) }

// clusterOptions are the plugin options of the named clusters of c, built
// as the default cluster's are (connHook: WithConnConfig's function).
func (c Config) clusterOptions(hooks plugin.Hooks, connHook func(*pgx.ConnConfig)) map[string]plugin.Options {
	if len(c.Clusters) == 0 {
		return nil
	}
	out := make(map[string]plugin.Options, len(c.Clusters))
	for name, cc := range c.Clusters {
		o := cc.pluginOptions(nil, nil, hooks)
		o.AutoRegister, o.RequireRegistered = false, false
		if connHook != nil {
			o.ConnConfig = func(addr plugin.Addr) (*pgx.ConnConfig, error) {
				conf, err := cc.connConfig(addr)
				if err == nil {
					connHook(conf)
				}
				return conf, err
			}
		}
		out[name] = o
	}
	return out
}
