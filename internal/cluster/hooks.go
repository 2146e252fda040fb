package cluster

import "time"

// Hooks are optional callbacks on cluster events. They run one at a time, in
// the order of the events, on the plugin's effects goroutine (effects.go),
// never on a statement's: a slow hook delays later hooks, not queries. A
// hook must not call Close. Any may be nil.
type Hooks struct {
	// NodeDown: a node left service (probe failed, connection error, hang).
	NodeDown func(node string, err error)
	// NodeUp: a node answers probes again and is back in service.
	NodeUp func(node string)
	// PrimaryChanged: writes now go to primary ("" when none is known).
	PrimaryChanged func(old, primary string)
	// Failover: a new primary took over from old after the old one was lost
	// or demoted; took is the time since the old primary was last seen healthy.
	Failover func(old, primary string, took time.Duration)
}
