// Package testenv connects tests and the demo to a local pgcluster.
package testenv

import (
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// Config returns a Manager configuration for the cluster: the first node as
// host, the others as replicas, with timeouts suited to tests.
func Config(c *pgcluster.Cluster) datalayer.Config {
	cfg := datalayer.DefaultConfig()
	nodes := c.Nodes()
	cfg.Host = nodes[0].Host()
	cfg.Port = nodes[0].Port()
	for _, n := range nodes[1:] {
		cfg.ReplicaHosts = append(cfg.ReplicaHosts, n.Addr())
	}
	cfg.Database = c.Database()
	cfg.Username = c.User()
	cfg.Password = c.Password()
	cfg.SSLMode = "disable"
	cfg.PoolTimeout = 5 * time.Second
	cfg.ConnectionTimeout = 2 * time.Second
	cfg.FailoverTimeout = 5 * time.Second
	cfg.HealthCheckInterval = 500 * time.Millisecond
	return cfg
}

// AddCluster adds to cfg a named cluster on c (its own nodes and
// credentials, everything else inherited from cfg), with database when
// not empty and tables placed on it.
func AddCluster(cfg *datalayer.Config, name string, c *pgcluster.Cluster, database string, tables ...string) {
	sec := cfg.ClusterBase()
	own := Config(c)
	sec.Host, sec.Port, sec.ReplicaHosts, sec.Database = own.Host, own.Port, own.ReplicaHosts, own.Database
	if database != "" {
		sec.Database = database
	}
	sec.Username, sec.Password = own.Username, own.Password
	sec.Tables = tables
	if cfg.Clusters == nil {
		cfg.Clusters = map[string]datalayer.Config{}
	}
	cfg.Clusters[name] = sec
}
