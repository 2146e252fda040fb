package datalayer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/prompt-improver/unifieddb/plugin"
)

// Health statuses of HealthReport.Status.
const (
	// StatusHealthy: a primary and every replica usable.
	StatusHealthy = "healthy"
	// StatusDegraded: writes possible but some replica is out of rotation,
	// or split brain, or reads only because there has been no primary for
	// less than failover_timeout.
	StatusDegraded = "degraded"
	// StatusUnhealthy: no usable node, or no primary for longer than
	// failover_timeout.
	StatusUnhealthy = "unhealthy"
)

// HealthReport is the state of the cluster as the Manager sees it. Its JSON
// field names are part of the public contract.
type HealthReport struct {
	// Status is StatusHealthy, StatusDegraded or StatusUnhealthy.
	Status string `json:"status"`
	// Problems says why Status is not healthy, one line per problem.
	Problems []string `json:"problems,omitempty"`
	// Primary is the node that takes writes (host:port), "" when none.
	Primary string `json:"primary"`
	// ConnectionPool sums every pool of every node.
	ConnectionPool PoolFigures `json:"connection_pool"`
	// ActiveConnections is how many connections are in use, all pools.
	ActiveConnections int `json:"active_connections"`
	// ConnectionBudget is how many connections this instance may open on
	// each node (Config.ConnectionBudget): size max_connections with it.
	ConnectionBudget ConnectionBudget `json:"connection_budget"`
	// Nodes are the nodes in use: the configured ones, host first, or with
	// discovery the discovered ones, the leader first as the source listed it
	// when the Manager started, then in order of discovery.
	Nodes []NodeHealth `json:"nodes"`
	// CheckedAt is the time of the newest probe in the report (the time
	// the report was made when no node was probed yet).
	CheckedAt time.Time `json:"checked_at"`
	// RegistryConflicts are the model registry's conflicts (two types on
	// one table), recorded outside strict mode.
	RegistryConflicts []RegistryConflict `json:"registry_conflicts,omitempty"`
	// SplitBrain: more than one node accepts writes.
	SplitBrain bool `json:"split_brain"`
	// Discovery says where the node list came from (discovery).
	Discovery DiscoveryHealth `json:"discovery"`
	// Clusters are the named clusters' sections (Config.Clusters), keyed
	// by name, each the report of that cluster alone; omitted with one
	// cluster. The fields above are the default cluster's, except Status
	// and Problems, which also take in every named cluster's (its problems
	// prefixed "cluster NAME: "; the worst status wins).
	Clusters map[string]HealthReport `json:"clusters,omitempty"`
}

// PoolFigures are connection pool figures (database/sql's DBStats), summed
// over pools.
type PoolFigures struct {
	Open           int     `json:"open"`
	InUse          int     `json:"in_use"`
	Idle           int     `json:"idle"`
	MaxOpen        int     `json:"max_open"`
	WaitCount      int64   `json:"wait_count"`
	WaitDurationMs float64 `json:"wait_duration_ms"`
}

func (f *PoolFigures) add(s sql.DBStats) {
	f.Open += s.OpenConnections
	f.InUse += s.InUse
	f.Idle += s.Idle
	f.MaxOpen += s.MaxOpenConnections
	f.WaitCount += s.WaitCount
	f.WaitDurationMs += millis(s.WaitDuration)
}

// NodeHealth is one node of a HealthReport.
type NodeHealth struct {
	// Name is "host:port".
	Name string `json:"name"`
	Host string `json:"host"`
	Port int    `json:"port"`
	// Role is "primary", "replica" or "unknown" (not probed yet). A node
	// that is down keeps the role its last answer gave.
	Role string `json:"role"`
	// Healthy: the node answered its last probes and is in service.
	Healthy bool `json:"healthy"`
	// InRotation: the node takes traffic (the primary, or a replica within
	// max_replication_lag).
	InRotation bool `json:"in_rotation"`
	// OutOfRotation says why a replica that answers takes no reads: on
	// another timeline than the primary, no WAL receiver, following a
	// server that is not the primary, lag over max_replication_lag.
	// Omitted when it is in rotation or down.
	OutOfRotation string `json:"out_of_rotation,omitempty"`
	// Timeline is the node's timeline (on a replica, the one it last
	// streamed), 0 when unknown; Upstream is the host:port a replica's WAL
	// receiver streams from, omitted when it has none or cannot be seen.
	Timeline int    `json:"timeline"`
	Upstream string `json:"upstream,omitempty"`
	// LatencyMs is the round trip of the last successful probe.
	LatencyMs float64 `json:"latency_ms"`
	// ReplicationLagMs is how long ago the primary first had WAL this
	// replica has not replayed (0 on the primary and on a caught-up replica).
	ReplicationLagMs float64 `json:"replication_lag_ms"`
	// ReplicationLagBytes is the WAL this replica has not replayed.
	ReplicationLagBytes int64 `json:"replication_lag_bytes"`
	// SyncRepWaiting is how many backends of this node wait on synchronous
	// replication (commits the synchronous standby has not confirmed), as
	// its last successful probe saw; SyncRepLongestWaitMs is the longest of
	// those waits. Normally 0 or a few milliseconds.
	SyncRepWaiting       int     `json:"sync_rep_waiting"`
	SyncRepLongestWaitMs float64 `json:"sync_rep_longest_wait_ms"`
	// SyncRepStalled: the commits are stalled (one waited a second, or
	// probes saw commits waiting for half a second while the standbys
	// confirmed nothing); the report is degraded.
	SyncRepStalled bool `json:"sync_rep_stalled"`
	// SourceRole and SourceState are the discovery source's view of the
	// node (Patroni's role and state), omitted when it has none. Role and
	// Healthy are what the probes found.
	SourceRole  string `json:"source_role,omitempty"`
	SourceState string `json:"source_state,omitempty"`
	// Error is the last probe's error, "" when it answered. Never contains
	// the password.
	Error string `json:"error"`
	// CheckedAt is the time of the node's last probe (zero before the first).
	CheckedAt time.Time `json:"checked_at"`
}

// RegistryConflict is two model types that map to one table.
type RegistryConflict struct {
	Table    string `json:"table"`
	Kept     string `json:"kept"`
	Rejected string `json:"rejected"`
}

// HealthOption adjusts HealthCheck.
type HealthOption func(*healthOptions)

type healthOptions struct {
	fresh bool
}

// Fresh makes HealthCheck probe every node now and wait for the answers
// (each bounded by connection_timeout, and by ctx) instead of reading the
// latest snapshot of the background health checks.
func Fresh() HealthOption { return func(o *healthOptions) { o.fresh = true } }

// HealthCheck reports the state of the cluster. By default it reads the
// latest snapshot of the background health checks: no query is sent, so it is
// cheap enough for every readiness probe. With Fresh it probes every node
// first.
//
// An unhealthy cluster is a report with Status StatusUnhealthy, not an
// error: the error is ctx's error, or ErrClosed after Close.
func (m *Manager) HealthCheck(ctx context.Context, opts ...HealthOption) (HealthReport, error) {
	var o healthOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := m.usable(ctx); err != nil {
		return HealthReport{}, err
	}
	if o.fresh {
		if err := m.plugin.Probe(ctx); err != nil {
			if errors.Is(err, plugin.ErrClosed) {
				return HealthReport{}, ErrClosed
			}
			return HealthReport{}, fmt.Errorf("unifieddb: health check: %w", err)
		}
	}
	return m.fullReport(time.Now()), nil
}

// usable returns ctx's error, or ErrClosed once the Manager is closed.
func (m *Manager) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.isClosed() {
		return ErrClosed
	}
	return nil
}

// isClosed asks the plugin's connection pool, which answers ErrClosed after
// Close without touching the network.
func (m *Manager) isClosed() bool {
	_, err := m.db.DB()
	return errors.Is(err, ErrClosed)
}

// healthReport builds the report of one status snapshot of the default
// cluster.
func (m *Manager) healthReport(cs plugin.ClusterStatus, now time.Time) HealthReport {
	r := clusterReport(m.cfg, cs, now)
	for _, c := range m.reg.Conflicts() {
		r.RegistryConflicts = append(r.RegistryConflicts, RegistryConflict{Table: c.Table, Kept: c.Kept, Rejected: c.Rejected})
	}
	return r
}

// clusterReport builds the report of one cluster's status snapshot; cfg is
// that cluster's configuration.
func clusterReport(cfg Config, cs plugin.ClusterStatus, now time.Time) HealthReport {
	r := HealthReport{
		Primary:          cs.Primary,
		SplitBrain:       cs.SplitBrain,
		Nodes:            make([]NodeHealth, 0, len(cs.Nodes)),
		ConnectionBudget: cfg.ConnectionBudget(),
	}
	secrets := cfg.Passwords()
	r.Discovery = discoveryHealth(cs.Discovery, secrets)
	usable := 0
	for _, n := range cs.Nodes {
		for _, kind := range sortedPoolKinds(n.Pools) {
			r.ConnectionPool.add(n.Pools[kind])
		}
		nh := NodeHealth{
			Name: n.Name, Host: n.Host, Port: n.Port,
			Role:                 NodeRole(n),
			Healthy:              n.Healthy,
			InRotation:           n.InRotation,
			OutOfRotation:        n.OutOfRotation,
			Timeline:             n.Timeline,
			Upstream:             n.Upstream,
			LatencyMs:            millis(n.Latency),
			ReplicationLagMs:     millis(n.Lag),
			ReplicationLagBytes:  n.LagBytes,
			SyncRepWaiting:       n.SyncRepWaiting,
			SyncRepLongestWaitMs: millis(n.SyncRepLongestWait),
			SyncRepStalled:       n.SyncRepStalled,
			SourceRole:           n.SourceRole,
			SourceState:          n.SourceState,
			Error:                redactSecrets(n.LastError, secrets),
			CheckedAt:            n.CheckedAt,
		}
		r.Nodes = append(r.Nodes, nh)
		if n.CheckedAt.After(r.CheckedAt) {
			r.CheckedAt = n.CheckedAt
		}
		if n.Healthy && nh.Role != "unknown" {
			usable++
		}
	}
	if r.CheckedAt.IsZero() {
		r.CheckedAt = now
	}
	r.ActiveConnections = r.ConnectionPool.InUse
	var noPrimary time.Duration
	if cs.Primary == "" && !cs.NoPrimarySince.IsZero() {
		noPrimary = now.Sub(cs.NoPrimarySince)
	}
	r.Status, r.Problems = judge(r, usable, noPrimary, cfg.FailoverTimeout)
	return r
}

// NodeRole is the role of a node as reports show it: "primary", "replica",
// or "unknown" while the node has never answered a probe.
func NodeRole(n NodeStatus) string {
	if !n.Answered {
		return plugin.RoleUnknown.String()
	}
	return n.Role.String()
}

// syncRepProblem says what n's stalled commits mean.
func syncRepProblem(n NodeHealth) string {
	return fmt.Sprintf("node %s: %d commits waiting on synchronous standby (longest %s): writes stall until it confirms or synchronous_standby_names changes",
		n.Name, n.SyncRepWaiting, time.Duration(n.SyncRepLongestWaitMs*float64(time.Millisecond)).Round(time.Millisecond))
}

// judge decides the status of a report and says why it is not healthy.
func judge(r HealthReport, usable int, since, failoverTimeout time.Duration) (string, []string) {
	var problems []string
	for _, n := range r.Nodes {
		if n.SyncRepStalled {
			problems = append(problems, syncRepProblem(n))
		}
		switch {
		case !n.Healthy && n.Error != "":
			problems = append(problems, fmt.Sprintf("node %s is down: %s", n.Name, n.Error))
		case !n.Healthy:
			problems = append(problems, fmt.Sprintf("node %s is down", n.Name))
		case n.Role == "unknown":
			problems = append(problems, fmt.Sprintf("node %s has not answered a probe yet", n.Name))
		case !n.InRotation && n.Role == "replica" && n.OutOfRotation != "":
			problems = append(problems, fmt.Sprintf("replica %s is out of rotation: %s", n.Name, n.OutOfRotation))
		case !n.InRotation && n.Role == "replica":
			problems = append(problems, fmt.Sprintf("replica %s is out of rotation (replication lag %s)",
				n.Name, time.Duration(n.ReplicationLagMs*float64(time.Millisecond)).Round(time.Millisecond)))
		case !n.InRotation && n.Name != r.Primary:
			problems = append(problems, fmt.Sprintf("node %s accepts writes but is not the primary in use", n.Name))
		}
	}
	if p := discoveryProblem(r.Discovery, len(r.Nodes)); p != "" {
		problems = append(problems, p)
	}
	if r.SplitBrain {
		problems = append(problems, "split brain: more than one node accepts writes; writes go to the newest timeline")
	}
	switch {
	case usable == 0:
		return StatusUnhealthy, append(problems, "no node is usable")
	case r.Primary == "" && since >= failoverTimeout:
		return StatusUnhealthy, append(problems, fmt.Sprintf("no primary for %s (failover_timeout %s): writes fail", since.Round(time.Millisecond), failoverTimeout))
	case r.Primary == "":
		return StatusDegraded, append(problems, fmt.Sprintf("no primary for %s (failover_timeout %s): reads only, writes wait", since.Round(time.Millisecond), failoverTimeout))
	case len(problems) > 0:
		return StatusDegraded, problems
	}
	return StatusHealthy, nil
}
