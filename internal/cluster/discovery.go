package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Member is one node as a discovery source reports it.
type Member struct {
	Addr Addr
	// Role and State are the source's view ("leader", "replica",
	// "sync_standby"...; "running", "streaming", "stopped"...), "" when the
	// source has none (static list, DNS). They are a hint: the probes decide.
	Role  string
	State string
	// Suspect: the source says the node is not serving (Patroni: not
	// running). The node is probed at once; only the probe takes it out.
	Suspect bool
}

// Discoverer lists the nodes of the cluster, in the style of hasql's
// NodeDiscoverer. Discover is called at start and every DiscoveryInterval;
// it must return within ctx. Members should list the primary first (it is
// assumed primary until the first probes answer).
type Discoverer interface {
	Discover(ctx context.Context) ([]Member, error)
	// Source names where the list comes from, for health reports
	// ("patroni http://10.0.0.1:8008"). Never a password.
	Source() string
}

// DiscoveryStatus says where the node list came from.
type DiscoveryStatus struct {
	Source      string        // "static" without a Discoverer
	Interval    time.Duration // 0 for the static list
	LastRefresh time.Time     // the last Discover call that ended, ok or not (zero: none)
	LastError   string        // of that call; "" when it succeeded
	Added       int64         // nodes added since start
	Removed     int64         // nodes removed since start
}

// ErrNoMembers is a discovery answer with no node in it: the current list is
// kept (an empty cluster is taken for a broken source, never obeyed).
var ErrNoMembers = errors.New("unifieddb: discovery found no node")

// checkMembers refuses an answer the plugin cannot use: empty, more than 64
// nodes, a bad address, or one address twice.
func checkMembers(ms []Member) error {
	if len(ms) == 0 {
		return ErrNoMembers
	}
	if len(ms) > 64 {
		return fmt.Errorf("unifieddb: discovery found %d nodes, more than 64", len(ms))
	}
	seen := make(map[Addr]bool, len(ms))
	for _, m := range ms {
		if m.Addr.Host == "" || m.Addr.Port <= 0 || m.Addr.Port > 65535 {
			return fmt.Errorf("unifieddb: discovery: bad address %q", m.Addr.String())
		}
		if seen[m.Addr] {
			return fmt.Errorf("unifieddb: discovery: %s listed twice", m.Addr.String())
		}
		seen[m.Addr] = true
	}
	return nil
}

// diffMembers says which discovered members are new and which current
// addresses are gone, each in the order given.
func diffMembers(current []Addr, found []Member) (add []Member, remove []Addr) {
	in := make(map[Addr]bool, len(found))
	for _, m := range found {
		in[m.Addr] = true
	}
	have := make(map[Addr]bool, len(current))
	for _, a := range current {
		have[a] = true
		if !in[a] {
			remove = append(remove, a)
		}
	}
	for _, m := range found {
		if !have[m.Addr] {
			add = append(add, m)
		}
	}
	return add, remove
}

// staticSource is today's behaviour: Options.Nodes, never refreshed.
const staticSource = "static"
