//go:build linux

package patronitest

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
)

// Patroni's timings, kept small so failovers take seconds, within Patroni's
// rule loop_wait + 2*retry_timeout <= ttl.
const (
	ttl          = 10
	loopWait     = 1
	retryTimeout = 4
)

func addr(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// config is node n's patroni.yml. JSON is YAML, so encoding/json writes it.
func (c *Cluster) config(n *Node) ([]byte, error) {
	var partners []string
	for _, o := range c.nodes {
		if o != n {
			partners = append(partners, addr(o.raftPort))
		}
	}
	dcsParams := map[string]any{
		"max_connections":              200,
		"max_wal_senders":              10,
		"max_replication_slots":        10,
		"wal_keep_size":                "128MB",
		"hot_standby":                  "on",
		"wal_log_hints":                "on",
		"hot_standby_feedback":         "on",
		"wal_receiver_status_interval": "1s",
		"wal_retrieve_retry_interval":  "200ms",
	}
	for k, v := range c.opts.Parameters {
		dcsParams[k] = v
	}
	auth := map[string]any{
		"superuser":   map[string]string{"username": superuser, "password": c.password},
		"replication": map[string]string{"username": replicationUser, "password": c.password},
	}
	cfg := map[string]any{
		"scope": c.scope,
		"name":  n.Name,
		"log":   map[string]any{"level": "INFO"},
		"restapi": map[string]any{
			"listen":          addr(n.RESTPort),
			"connect_address": addr(n.RESTPort),
		},
		"raft": map[string]any{
			"self_addr":     addr(n.raftPort),
			"partner_addrs": partners,
			"data_dir":      filepath.Join(n.dir, "raft"),
		},
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"ttl":              ttl,
				"loop_wait":        loopWait,
				"retry_timeout":    retryTimeout,
				"synchronous_mode": c.opts.SynchronousMode,
				// A replica that lags by more than this is no failover candidate;
				// the tests' loads are small.
				"maximum_lag_on_failover": 64 << 20,
				"postgresql": map[string]any{
					"use_pg_rewind": true,
					"use_slots":     true,
					"parameters":    dcsParams,
				},
			},
			"initdb": []any{map[string]string{"encoding": "UTF8"}, map[string]string{"locale": "C"}},
		},
		"postgresql": map[string]any{
			"listen":          addr(n.Port),
			"connect_address": addr(n.Port),
			"data_dir":        n.dataDir,
			"bin_dir":         c.binDir,
			"pgpass":          filepath.Join(n.dir, "pgpass"),
			"authentication":  auth,
			"parameters": map[string]any{
				"unix_socket_directories": n.dir,
				"shared_buffers":          "32MB",
				"fsync":                   "off",
				"full_page_writes":        "on",
				"jit":                     "off",
				"logging_collector":       "off",
				"log_line_prefix":         "%m [%p] %q%a ",
			},
			"pg_hba": []string{
				"local all all trust",
				"host all all 127.0.0.1/32 scram-sha-256",
				"host replication all 127.0.0.1/32 scram-sha-256",
			},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("patronitest: config of %s: %w", n.Name, err)
	}
	return b, nil
}
