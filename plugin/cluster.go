package plugin

import "github.com/prompt-improver/unifieddb/internal/cluster"

// The cluster's own types live in package internal/cluster (members, pools,
// probes, failover); these are their names here, unchanged for the users of
// plugin and datalayer.
type (
	// Addr is one node's address.
	Addr = cluster.Addr
	// Role is what a node is, as its last probe saw it.
	Role = cluster.Role
	// Member is one node as a discovery source reports it.
	Member = cluster.Member
	// Discoverer lists the nodes of the cluster (see cluster.Discoverer).
	Discoverer = cluster.Discoverer
	// DiscoveryStatus says where the node list came from.
	DiscoveryStatus = cluster.DiscoveryStatus
	// DNSDiscoverer makes a node of every A and AAAA record of Name.
	DNSDiscoverer = cluster.DNSDiscoverer
	// PatroniDiscoverer reads the members of a Patroni cluster from its
	// REST API.
	PatroniDiscoverer = cluster.PatroniDiscoverer
	// NodeStatus is one node as the health checker last saw it.
	NodeStatus = cluster.NodeStatus
	// ClusterStatus is a snapshot of every node.
	ClusterStatus = cluster.Status
	// UnavailableError says why a call found no node to run on.
	UnavailableError = cluster.UnavailableError
	// NodeFault is one node as the health checker last saw it when a call
	// found no node to run on.
	NodeFault = cluster.NodeFault
	// PoolConfig sizes one kind of pool.
	PoolConfig = cluster.PoolConfig
	// ConnConfigFunc returns the connection settings for one node. It must
	// return a config made by pgx.ParseConfig (pgx refuses hand-built
	// ones); the plugin sets run-time parameters on it per pool.
	ConnConfigFunc = cluster.ConnConfigFunc
	// Hooks are optional callbacks on cluster events (see cluster.Hooks).
	Hooks = cluster.Hooks
)

// Roles.
const (
	RoleUnknown = cluster.RoleUnknown
	RolePrimary = cluster.RolePrimary
	RoleReplica = cluster.RoleReplica
)

// Replica policies (replica_policy).
const (
	PolicyRoundRobin   = cluster.PolicyRoundRobin
	PolicyRandom       = cluster.PolicyRandom
	PolicyLeastLatency = cluster.PolicyLeastLatency
)

// SyncRepStallAfter is how long a commit may wait on a synchronous standby
// before the node's commits count as stalled.
const SyncRepStallAfter = cluster.SyncRepStallAfter

// ErrNoMembers is a discovery answer with no node in it: the current list is
// kept (an empty cluster is taken for a broken source, never obeyed).
var ErrNoMembers = cluster.ErrNoMembers
