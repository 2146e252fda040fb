package cluster

import (
	"bytes"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// bareTestCluster is a Cluster with one node per name, no goroutine started
// and no failover machine yet. The nodes' pools point at a closed loopback
// port and are never used: nothing connects.
func bareTestCluster(t testing.TB, names []string, opts Options, log *slog.Logger) (*Cluster, []*Node) {
	t.Helper()
	opts.Logger = log
	p, nodes := NewForTest(opts, names)
	t.Cleanup(func() { closeAll(nodes) })
	return p, nodes
}

// testCluster is a Cluster with nodes a, b, ... whose state the test sets, no
// server.
func testCluster(t testing.TB, n int) (*Cluster, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	names := make([]string, n)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	p, _ := bareTestCluster(t, names, Options{EnableHA: true}, slog.New(slog.NewTextHandler(&buf, nil)))
	p.AllReplicasForTest()
	return p, &buf
}

// routingCluster: k nodes, n0 the primary, the others replicas, all probed.
func routingCluster(t *testing.T, k int, opts Options) (*Cluster, []*Node) {
	t.Helper()
	opts.EnableHA = true
	names := make([]string, k)
	for i := range names {
		names[i] = "n" + string(rune('0'+i))
	}
	p, nodes := bareTestCluster(t, names, opts, slog.New(slog.DiscardHandler))
	p.StartForTest()
	p.probeAll(nodes[0])
	return p, nodes
}

// probeAll: every node answers a probe, primary the primary, at one LSN.
func (p *Cluster) probeAll(primary *Node) {
	for _, n := range p.Nodes() {
		p.ProbeForTest(n, n != primary, 100, 1, nil)
	}
}

// runQueued runs the effects queued so far, as the effects goroutine would
// (testCluster starts none).
func (p *Cluster) runQueued() {
	for _, f := range p.fx.take() {
		p.runEffect(f)
	}
}

// rebuildNow derives the topology from the states the test set and runs
// the effects (the log lines) as the effects goroutine would.
func (p *Cluster) rebuildNow() *Topology {
	fx := p.m.rebuild(nil, time.Unix(1000, 0))
	p.topo.Store(p.m.topo)
	for _, f := range fx {
		p.runEffect(f)
	}
	return p.topo.Load()
}

func TestRebuildPrimaryChoice(t *testing.T) {
	t.Run("a role only assumed at start is no split brain", func(t *testing.T) {
		p, log := testCluster(t, 2)
		a, b := p.Nodes()[0], p.Nodes()[1]
		a.st.role, a.st.answered = RolePrimary, false // Nodes[0], not probed yet
		b.st.role = RolePrimary                       // found writable by its probe
		top := p.rebuildNow()
		if top.Primary != b || top.SplitBrain {
			t.Fatalf("primary %v split %v; want b, false", nameOf(top.Primary), top.SplitBrain)
		}
		if bytes.Contains(log.Bytes(), []byte("SPLIT BRAIN")) {
			t.Fatalf("logged a split brain: %s", log)
		}
	})
	t.Run("two found writable: the newest timeline, and a split brain", func(t *testing.T) {
		p, log := testCluster(t, 2)
		a, b := p.Nodes()[0], p.Nodes()[1]
		a.st.role, a.st.timeline = RolePrimary, 1
		b.st.role, b.st.timeline = RolePrimary, 2
		top := p.rebuildNow()
		if top.Primary != b || !top.SplitBrain {
			t.Fatalf("primary %v split %v; want b, true", nameOf(top.Primary), top.SplitBrain)
		}
		if !bytes.Contains(log.Bytes(), []byte("SPLIT BRAIN")) {
			t.Fatal("a split brain must be logged")
		}
	})
	t.Run("a read-only primary takes no writes but serves reads", func(t *testing.T) {
		p, _ := testCluster(t, 2)
		a := p.Nodes()[0]
		a.st.role, a.st.readOnly = RolePrimary, true
		top := p.rebuildNow()
		if top.Primary != nil || !slices.Contains(top.Replicas, a) {
			t.Fatalf("primary %v replicas %d; want none, a in rotation", nameOf(top.Primary), len(top.Replicas))
		}
	})
	t.Run("a node that refused a write waits for its probe", func(t *testing.T) {
		p, _ := testCluster(t, 2)
		a := p.Nodes()[0]
		a.st.role, a.st.refused = RolePrimary, true
		top := p.rebuildNow()
		if top.Primary != nil || slices.Contains(top.Replicas, a) {
			t.Fatal("a refused node is neither written to nor read from until probed")
		}
	})
	t.Run("a replica short of a migration stays out of rotation", func(t *testing.T) {
		p, _ := testCluster(t, 3)
		prim, behind, caught := p.Nodes()[0], p.Nodes()[1], p.Nodes()[2]
		prim.st.role, prim.st.lsn = RolePrimary, 500
		behind.st.lsn, caught.st.lsn = 400, 500
		p.m.minReplay = 450
		top := p.rebuildNow()
		if slices.Contains(top.Replicas, behind) || !slices.Contains(top.Replicas, caught) {
			t.Fatalf("replicas %v; want only the caught-up one", top.Replicas)
		}
	})
	t.Run("a replica of another timeline than the primary's takes no reads", func(t *testing.T) {
		// replica old still follows the replaced primary (timeline 1) and is
		// further in WAL position than the promoted one (timeline 2).
		p, _ := testCluster(t, 3)
		nodes := p.Nodes()
		prim, old, same := nodes[0], nodes[1], nodes[2]
		prim.st.role, prim.st.lsn, prim.st.timeline = RolePrimary, 500, 2
		old.st.lsn, old.st.timeline = 900, 1
		same.st.lsn, same.st.timeline = 500, 2
		p.m.recordLSN(prim, time.Unix(1000, 0), 500)
		top := p.rebuildNow()
		if slices.Contains(top.Replicas, old) || !slices.Contains(top.Replicas, same) {
			t.Fatalf("replicas %v; want only the one on timeline 2", top.Replicas)
		}
		old.st.timeline = 0 // unknown (not streaming, or not visible): compared by position
		if top := p.rebuildNow(); !slices.Contains(top.Replicas, old) {
			t.Fatal("a replica of unknown timeline is compared by WAL position, as before")
		}
	})
}
