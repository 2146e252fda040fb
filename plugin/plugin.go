// Package plugin is the GORM plugin of unifieddb: it resolves each statement
// to a node by mode, keeps one set of pools per node, and retries where that
// is safe.
package plugin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Name is the plugin's name in gorm.Config.Plugins.
const Name = "unifieddb"

// Plugin is the gorm.Plugin. Install it with db.Use(p); it takes over the
// db's connection pool.
type Plugin struct {
	opts Options
	log  *slog.Logger
	// members is the node set: an immutable slice swapped as a whole when
	// discovery adds or removes a node, so readers take no lock.
	members atomic.Pointer[[]*Node]
	topo    atomic.Pointer[Topology]
	rr      atomic.Uint64
	routes  [modeCount][opKinds]*route
	// entries[m] is where db.Clauses(m) points a statement before the
	// callbacks refine it: the pool Begin uses.
	entries [modeCount]*route

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced at every topology change
	closing  chan struct{}
	stopCtx  context.Context // cancelled by Close: ends probes in flight
	stop     context.CancelFunc
	closed   atomic.Bool
	hopeless atomic.Bool    // every node has a fault waiting cannot cure (machine.hopeless)
	wg       sync.WaitGroup // probe loops
	seen     sync.Map       // *schema.Schema already registered or checked
	initOnce atomic.Bool

	modeStats [modeCount]Counters
	hooks     []StatementHook // metrics, echo, then Options.StatementHooks
	userHooks bool            // Options.StatementHooks has one

	// The failover machine and the node states, guarded by stateMu; changed
	// only through step. Its effects run on the effects goroutine.
	stateMu sync.Mutex
	m       *machine
	fx      effectQueue
	fxStop  chan struct{} // closed by Close: the effects goroutine ends
	hookq   *effectQueue  // the hooks goroutine's, set by runEffects before any effect
	disc    DiscoveryStatus

	// retiring holds the indexes (nodeMask bits) of nodes discovery removed
	// whose pools are not closed yet: not given to a new node.
	retiring atomic.Uint64

	// inst is the read-your-writes state of every Auto read with
	// Options.InstanceReadYourWrites, nil without it.
	inst *rywState

	// lsnSeam, when set (by tests), answers askLSN instead of the node.
	lsnSeam func(ctx context.Context, pl *Pool, query string) (int64, error)
}

// New prepares the plugin: one set of pools per node, opened lazily, so a
// node that is down does not stop it, and one probe loop per node. Until the
// first probes answer, Nodes[0] is taken as the primary and the others as
// replicas. Close stops the loops.
func New(opts Options) (*Plugin, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p := &Plugin{opts: opts, log: opts.Logger, changed: make(chan struct{}), closing: make(chan struct{}),
		fxStop: make(chan struct{}), fx: effectQueue{wake: make(chan struct{}, 1)}}
	p.stopCtx, p.stop = context.WithCancel(context.Background())
	if p.log == nil {
		p.log = slog.Default()
	}
	p.hooks = p.statementHooks()
	if opts.InstanceReadYourWrites {
		p.inst = &rywState{instance: true}
	}
	members, err := p.firstMembers()
	if err != nil {
		p.stop()
		return nil, err
	}
	var nodes []*Node
	for i, m := range members {
		n, err := openNode(p, i, m.Addr)
		if err != nil {
			p.stop()
			closeAll(nodes)
			return nil, err
		}
		n.st.srcRole, n.st.srcState = m.Role, m.State
		nodes = append(nodes, n)
	}
	p.members.Store(&nodes)
	p.routes = newRoutes(p)
	for m := Mode(0); m < modeCount; m++ {
		p.entries[m] = p.routes[m][opWrite]
	}
	p.m = newMachine(&p.opts, nodes, nil)
	p.topo.Store(p.m.topo)
	p.wg.Add(1)
	go p.runEffects()
	p.startHealth()
	p.startDiscovery()
	return p, nil
}

// WaitReady waits until every node answered (or failed) its first probe, or
// ctx ends; routing is right from the first statement after it. It also
// waits, up to readyLagWait, for replicas whose lag is not known yet (see
// lagPending): one a few milliseconds behind is known at its next probe.
func (p *Plugin) WaitReady(ctx context.Context) error {
	start := time.Now()
	for {
		p.stateMu.Lock()
		done := p.m.discovered() && (!p.m.lagPending() || time.Since(start) > readyLagWait)
		p.stateMu.Unlock()
		if done {
			return nil
		}
		if err := p.WaitChange(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return Name }

// Initialize implements gorm.Plugin: it registers the routing callbacks and
// makes the plugin the db's connection pool.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if !p.initOnce.CompareAndSwap(false, true) {
		return errors.New("unifieddb: the plugin is already installed on a gorm.DB")
	}
	if err := p.registerCallbacks(db); err != nil {
		return err
	}
	var root gorm.ConnPool = p.entries[Auto]
	if ps, ok := db.ConnPool.(*gorm.PreparedStmtDB); ok && ps.ConnPool == root {
		// gorm.Config{PrepareStmt: true} around the plugin's pool: GORM's
		// wrapper stays, as without the plugin (see prepare.go).
		root = ps
	}
	db.ConnPool = root
	if db.Statement != nil {
		db.Statement.ConnPool = root
	}
	return nil
}

// Close closes every pool. Later statements fail with ErrClosed. It is
// idempotent.
func (p *Plugin) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(p.closing)
	p.stop()
	p.step(event{kind: evClose}) // a probe Close cancelled changes nothing
	close(p.fxStop)
	p.wg.Wait() // removed nodes' pools are closed by then (retire)
	return closeAll(p.Nodes())
}

func closeAll(nodes []*Node) error {
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.close())
	}
	return errors.Join(errs...)
}

// Nodes is the current node set. Never modify it: it is shared.
func (p *Plugin) Nodes() []*Node { return *p.members.Load() }

// setTopology swaps in a new snapshot and wakes statements waiting for one.
func (p *Plugin) setTopology(t *Topology) {
	p.topo.Store(t)
	p.wake()
}

// WaitChange waits up to d for a topology change.
func (p *Plugin) WaitChange(ctx context.Context, d time.Duration) error {
	p.mu.Lock()
	ch := p.changed
	p.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closing:
		return ErrClosed
	case <-ch:
	case <-t.C:
	}
	return nil
}

// ConnPool returns the plugin's Auto-mode pool, for gorm.Open:
// postgres.New(postgres.Config{Conn: p.ConnPool()}).
func (p *Plugin) ConnPool() gorm.ConnPool { return p.entries[Auto] }
