package cluster

import (
	"testing"
	"time"
)

// A replica's lag is measured against the lost primary when none is known,
// and is unknown (never 0) when there is nothing to measure against.
func TestLagOfWithoutAKnownPrimary(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := &machine{}
	old := &Node{Name: "old"}
	old.st.role, old.st.lsn = RolePrimary, 300
	behind := &Node{Name: "behind"}
	behind.st.role, behind.st.lsn = RoleReplica, 100
	caughtUp := &Node{Name: "caught-up"}
	caughtUp.st.role, caughtUp.st.lsn = RoleReplica, 300

	if _, _, known := p.lagOf(behind, nil, t0); known {
		t.Fatal("no primary ever seen: the lag must be unknown")
	}

	p.recordLSN(old, t0, 100)
	p.recordLSN(old, t0.Add(time.Second), 200)
	p.recordLSN(old, t0.Add(2*time.Second), 300)
	now := t0.Add(5 * time.Second)
	bytes, lag, known := p.lagOf(behind, nil, now)
	if !known || bytes != 200 || lag != 4*time.Second {
		t.Fatalf("behind the lost primary: bytes %d, lag %s, known %v; want 200, 4s, true", bytes, lag, known)
	}
	if _, lag, known := p.lagOf(caughtUp, nil, now); !known || lag != 0 {
		t.Fatalf("caught up with the lost primary: lag %s, known %v; want 0, true", lag, known)
	}

	// A new primary without history yet: a replica behind it has no known lag.
	promoted := &Node{Name: "new"}
	promoted.st.role, promoted.st.lsn = RolePrimary, 400
	if _, _, known := p.lagOf(caughtUp, promoted, now); known {
		t.Fatal("a replica behind a primary without history: the lag must be unknown")
	}
}
