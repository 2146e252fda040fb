package cluster

import (
	"testing"
	"time"
)

// A probe of a replica that has run longer than stallProbeTimeout while
// the node's sockets wait is cut short; a younger probe, or the primary's,
// is left to run.
func TestCutSlowProbe(t *testing.T) {
	p, _ := testCluster(t, 2)
	primary, replica := p.Nodes()[0], p.Nodes()[1]
	p.topo.Store(&Topology{Primary: primary})
	now := time.Now()
	cases := []struct {
		name string
		n    *Node
		age  time.Duration
		cut  bool
	}{
		{"a replica's probe past stallProbeTimeout", replica, stallProbeTimeout + 50*time.Millisecond, true},
		{"a replica's probe still young", replica, stallProbeTimeout / 2, false},
		{"the primary's probe", primary, 10 * stallProbeTimeout, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cut := false
			c.n.probing.Store(&probeRun{start: now.Add(-c.age), cancel: func() { cut = true }})
			defer c.n.probing.Store(nil)
			p.cutSlowProbe(c.n, monoOf(now))
			if cut != c.cut {
				t.Fatalf("cut = %v, want %v", cut, c.cut)
			}
		})
	}
	t.Run("no probe in flight", func(t *testing.T) {
		p.cutSlowProbe(replica, monoOf(now)) // must not panic
	})
}
