package datalayer

import "github.com/prompt-improver/unifieddb/plugin"

// The plugin's types an application names when it configures a Manager,
// under the names it has there, so that an application imports datalayer
// only. They are aliases: a datalayer.Hooks is a plugin.Hooks.

type (
	// Hooks are callbacks on cluster events (WithHooks). They run in order
	// on the plugin's effects goroutine, never on a statement's.
	Hooks = plugin.Hooks
	// StatementHook sees every statement attempt (WithStatementHook).
	StatementHook = plugin.StatementHook
	// StatementFunc is a StatementHook made of a function.
	StatementFunc = plugin.StatementFunc
	// Statement is what a StatementHook is told of one attempt.
	Statement = plugin.Statement
	// FailoverHook may be implemented by a StatementHook to also see
	// failovers.
	FailoverHook = plugin.FailoverHook
	// Discoverer finds the cluster's nodes (WithDiscoverer).
	Discoverer = plugin.Discoverer
	// Member is one node a Discoverer found.
	Member = plugin.Member
	// Addr is a node's address.
	Addr = plugin.Addr
	// Role is what a node is, as its last probe saw it.
	Role = plugin.Role
	// NodeStatus is one node as the health checker last saw it
	// (Manager.Plugin().Status()).
	NodeStatus = plugin.NodeStatus
	// ClusterStatus is a snapshot of every node.
	ClusterStatus = plugin.ClusterStatus
)
