package datalayer

import (
	"fmt"
	"time"

	"github.com/prompt-improver/unifieddb/plugin"
)

// DiscoveryHealth says where the node list of a HealthReport came from.
// Its JSON field names are part of the public contract.
type DiscoveryHealth struct {
	// Source is "static" (host and replica_hosts), "patroni <urls>" or
	// "dns <name>:<port>". Never contains a password.
	Source string `json:"source"`
	// IntervalMs is discovery_interval; 0 for the static list.
	IntervalMs float64 `json:"interval_ms"`
	// LastRefresh is when the last lookup ended, ok or not; zero for the
	// static list.
	LastRefresh time.Time `json:"last_refresh"`
	// Error is the last lookup's error ("" when it succeeded): the node list
	// is then the one of the last lookup that did.
	Error string `json:"error"`
	// Added and Removed count the nodes the lookups added and removed since
	// the Manager started.
	Added   int64 `json:"added"`
	Removed int64 `json:"removed"`
}

func discoveryHealth(d plugin.DiscoveryStatus, secrets []string) DiscoveryHealth {
	return DiscoveryHealth{
		Source:      d.Source,
		IntervalMs:  millis(d.Interval),
		LastRefresh: d.LastRefresh,
		Error:       redactSecrets(d.LastError, secrets),
		Added:       d.Added,
		Removed:     d.Removed,
	}
}

// discoveryProblem is a report's line about a failing lookup, "" when none:
// the nodes still serve, but members added or removed since are not seen.
func discoveryProblem(d DiscoveryHealth, nodes int) string {
	if d.Error == "" {
		return ""
	}
	return fmt.Sprintf("discovery (%s) failed at %s: %s; keeping the %d known node(s)",
		d.Source, d.LastRefresh.Format(time.RFC3339), d.Error, nodes)
}
