package datalayer

import "context"

// WaitReady waits until the cluster takes writes: a probe found a writable
// primary. New does not wait for it (it stays lazy: a cluster that is down
// at start does not stop it); call WaitReady at start-up to fail with the
// reason instead of at the first statement.
//
// It returns nil once a primary is found. It does not wait for replicas:
// until one is in rotation, reads go to the primary (fallback_to_primary)
// or fail with ErrNoHealthyNode; HealthCheck names them. It returns at once
// an *UnavailableError (errors.Is ErrNoPrimary, Permanent true) when every
// node failed with a fault waiting cannot cure: a refused password or role
// (SQLSTATE 28P01, 28000, 42501), an unknown database (3D000), a TLS
// refusal or a certificate that does not verify, a host name that does not
// resolve. Otherwise it waits until ctx ends and returns ctx's error joined
// to an *UnavailableError naming each node's last error (a refused
// connection waits: the server may be starting). Bound ctx, e.g. with
// failover_timeout.
func (m *Manager) WaitReady(ctx context.Context) error {
	return m.plugin.WaitPrimary(ctx)
}
