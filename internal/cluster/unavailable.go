package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// UnavailableError says why a call found no node to run on: it wraps
// ErrNoPrimary or ErrNoHealthyNode (test with errors.Is as before) and
// names each node with its state and last error. Its Unwrap also gives
// each node's error, so errors.As(err, &pgErr) reaches the server's
// *pgconn.PgError (28P01, 3D000, ...) and errors.Is(err,
// syscall.ECONNREFUSED) the refused connection; a probe that timed out is
// named but not unwrapped, so errors.Is(err, context.DeadlineExceeded)
// stays about the caller's own context.
//
// Permanent: every node failed with a fault waiting cannot cure (see
// permanentFault) and none ever answered a probe; the call did not wait.
// Within: the call waited failover_timeout (Within) for a node in vain.
// Both zero: the call's context ended first (its error is wrapped beside).
type UnavailableError struct {
	Err       error // ErrNoPrimary or ErrNoHealthyNode
	Permanent bool
	Within    time.Duration
	Nodes     []NodeFault

	secrets []string // the nodes' passwords, removed from Error
}

// NodeFault is one node as the health checker last saw it when a call
// found no node to run on.
type NodeFault struct {
	Node    string // host:port
	Role    Role   // RoleUnknown until the node answered a probe
	Healthy bool   // in service
	// Err is the node's last error (its last probe's, or the statement's
	// that took it out of service); nil when its last probe answered.
	Err error
	// Permanent: Err is a fault waiting cannot cure, and the node never
	// answered a probe since the plugin started.
	Permanent bool
}

func (f NodeFault) String() string {
	switch {
	case f.Err != nil:
		return fmt.Sprintf("node %s: %v", f.Node, f.Err)
	case f.Role == RoleUnknown:
		return fmt.Sprintf("node %s: not probed yet", f.Node)
	case f.Healthy:
		return fmt.Sprintf("node %s: %s, in service", f.Node, f.Role)
	}
	return fmt.Sprintf("node %s: %s, out of service", f.Node, f.Role)
}

func (e *UnavailableError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	switch {
	case e.Permanent:
		b.WriteString(" (a fault waiting cannot cure; not waiting for failover_timeout)")
	case e.Within > 0:
		fmt.Fprintf(&b, " within %s", e.Within)
	}
	for i, f := range e.Nodes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	msg := b.String()
	for _, s := range e.secrets {
		// Drivers do not print the password; this is a second guard.
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

// Unwrap gives the sentinel, then each node's error but a probe's timeout.
func (e *UnavailableError) Unwrap() []error {
	errs := []error{e.Err}
	for _, f := range e.Nodes {
		if f.Err != nil && !Hung(f.Err) {
			errs = append(errs, f.Err)
		}
	}
	return errs
}

// unavailable says why no node can serve a call that wanted sentinel
// (ErrNoPrimary or ErrNoHealthyNode): each node's state and last error.
// The verdict: the call fails at once (Permanent) when every node of the
// member set has a permanent fault: its last probe failed with a
// permanentFault and it never answered a probe since the plugin started.
// A node that answered once and then refuses (a password changed, a
// database dropped) is a node fault like a crash: the others are used and
// calls wait up to failover_timeout. So does a node not probed yet, or
// one that refuses connections (it may be starting).
func (m *machine) unavailable(sentinel error) *UnavailableError {
	u := &UnavailableError{Err: sentinel, Permanent: m.hopeless()}
	for _, n := range m.nodes {
		s := &n.st
		f := NodeFault{Node: n.Name, Healthy: s.up, Err: s.cause, Permanent: s.permanent}
		if s.answered {
			f.Role = s.role
		}
		u.Nodes = append(u.Nodes, f)
		if n.secret != "" && !slices.Contains(u.secrets, n.secret) {
			u.secrets = append(u.secrets, n.secret)
		}
	}
	return u
}

// hopeless reports whether every node has a permanent fault (see
// unavailable): calls that find no node fail at once.
func (m *machine) hopeless() bool {
	for _, n := range m.nodes {
		if !n.st.permanent {
			return false
		}
	}
	return len(m.nodes) > 0
}

// Unavailable is the machine's verdict for a call that found no node
// (perr: ErrNoPrimary or ErrNoHealthyNode).
func (c *Cluster) Unavailable(perr error) *UnavailableError {
	sentinel := ErrNoHealthyNode
	if errors.Is(perr, ErrNoPrimary) {
		sentinel = ErrNoPrimary
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.m.unavailable(sentinel)
}

// WaitPrimary waits until a probe found a writable primary (one only
// assumed at start does not count). It does not wait for replicas: reads
// go to the primary while none is in rotation (fallback_to_primary), or
// fail with ErrNoHealthyNode. It returns at once an *UnavailableError with
// Permanent set when every node failed for a fault waiting cannot cure,
// and when ctx ends, ctx's error joined to an *UnavailableError naming each
// node's last error.
func (c *Cluster) WaitPrimary(ctx context.Context) error {
	for {
		if c.closed.Load() {
			return ErrClosed
		}
		c.stateMu.Lock()
		t := c.topo.Load()
		found := t.Primary != nil && t.Primary.st.answered
		c.stateMu.Unlock()
		if found {
			return nil
		}
		if c.hopeless.Load() {
			return c.Unavailable(ErrNoPrimary)
		}
		if err := c.WaitChange(ctx, 100*time.Millisecond); err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			return fmt.Errorf("%w: %w", err, c.Unavailable(ErrNoPrimary))
		}
	}
}

// wake wakes the calls waiting for a node (waitChange): a new snapshot, or
// every node's fault became permanent, which ends their wait.
func (c *Cluster) wake() {
	c.mu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}
