package cluster

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Addr is one node's address.
type Addr struct {
	Host string
	Port int
}

// String gives host:port ([host]:port for IPv6).
func (a Addr) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// Node is one server of the cluster and its pools.
type Node struct {
	c      *Cluster
	idx    int
	Addr   Addr
	Name   string
	Pools  [PoolKinds]*Pool
	conns  connSet       // client sockets of the pools, closed when the node hangs
	kick   chan struct{} // asks the probe loop for an immediate probe
	secret string        // the password, to redact from messages
	LSN    atomic.Int64  // last known WAL position: replay (replica) or current (primary)
	// reconnect asks the probe loop for a new probe session: one that
	// refused a write may be read-only since its session started.
	reconnect atomic.Bool
	// answeredAt is when the last successful probe was sent (monoNanos): a
	// socket waiting since before then is a slow statement, not a hung node.
	answeredAt atomic.Int64
	quickProbe atomic.Bool              // the next probe is a quick one (see watchStalls)
	probing    atomic.Pointer[probeRun] // the probe in flight, if any (see cutSlowProbe)
	// RTT is the last successful probe's round trip (ns), read without
	// stateMu by read-your-writes, which polls no replica slower than its wait.
	RTT   atomic.Int64
	Stats Counters

	// gone is closed when discovery removed the node: its probe loop ends
	// (loopDone is closed then) and its probes in flight are cancelled.
	gone        chan struct{}
	loopDone    chan struct{}
	probeCtx    context.Context
	cancelProbe context.CancelFunc
	retired     atomic.Bool // removed by discovery: its pools close after retireGrace

	probeConn *pgx.Conn // owned by the node's probe loop
	// probeConnAt: when probeConn was opened (see renewStandbySession).
	probeConnAt time.Time
	// failedProbes: consecutive failed probes (see downDelay); owned by
	// the probe loop.
	failedProbes int
	hedge        bool      // owned by the probe loop: see probeConnectTimeout
	st           nodeState // guarded by Cluster.stateMu
}

// openNode prepares every pool of one node. Nothing connects yet:
// database/sql opens connections when they are first needed, so a node that
// is down does not stop the plugin from starting.
func openNode(c *Cluster, idx int, addr Addr) (*Node, error) {
	o := &c.opts
	n := &Node{c: c, idx: idx, Addr: addr, Name: addr.String(), kick: make(chan struct{}, 1),
		gone: make(chan struct{}), loopDone: make(chan struct{})}
	n.probeCtx, n.cancelProbe = context.WithCancel(c.stopCtx)
	for k := PoolKind(0); k < PoolKinds; k++ {
		cc, err := o.ConnConfig(addr)
		if err != nil {
			n.close()
			return nil, fmt.Errorf("unifieddb: connection settings for %s: %w", n.Name, err)
		}
		n.secret = cc.Password
		if cc.DialFunc != nil {
			cc.DialFunc = n.conns.wrap(cc.DialFunc)
		}
		pc := o.poolConfig(k)
		if cc.RuntimeParams == nil {
			cc.RuntimeParams = map[string]string{}
		}
		// Behind a transaction pooler no session parameter is sent: PgBouncer
		// refuses them at connection start (08P01). ReadOnly statements then
		// run in read-only transactions (see rotx.go).
		if k == PoolRead && !o.TransactionPooling {
			cc.RuntimeParams["default_transaction_read_only"] = "on"
		}
		if pc.StatementTimeout > 0 && !o.TransactionPooling {
			cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(pc.StatementTimeout.Milliseconds(), 10)
		}
		var dbOpts []stdlib.OptionOpenDB
		if k != PoolRead {
			// Pools that carry writes check a reused connection's socket
			// first: a write must not be sent into a dead one (see dead),
			// nor into one older than the node's last change of role (see
			// epoch.go).
			ping := shouldPing
			if o.DeferDeadCheck && o.Connector != nil {
				ping = shouldPingLater
			}
			dbOpts = append(dbOpts, stdlib.OptionShouldPing(ping), stdlib.OptionResetSession(staleConn))
		}
		pl := &Pool{Node: n, Kind: k, Wait: o.PoolTimeout, Max: int32(min(pc.MaxOpen, math.MaxInt32)), released: newGate(ConnectBurst)}
		// At most ConnectBurst dials of the pool at once (see admit.go).
		var conn driver.Connector = gatedConnector{Connector: stdlib.GetConnector(*cc, dbOpts...), dials: newGate(ConnectBurst)}
		if o.Connector != nil {
			conn = o.Connector(pl, conn)
		}
		db := sql.OpenDB(conn)
		db.SetMaxOpenConns(pc.MaxOpen)
		db.SetMaxIdleConns(pc.MaxIdle)
		db.SetConnMaxLifetime(pc.MaxLifetime)
		pl.DB = db
		n.Pools[k] = pl
	}
	return n, nil
}

func (n *Node) close() error {
	var first error
	for _, pl := range n.Pools {
		if pl == nil {
			continue
		}
		if err := pl.DB.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ConnConfigFunc returns the connection settings for one node. It must return
// a config made by pgx.ParseConfig (pgx refuses hand-built ones); the plugin
// sets run-time parameters on it per pool.
type ConnConfigFunc func(addr Addr) (*pgx.ConnConfig, error)

// Secret is the node's password, for callers that redact their own
// messages (never print it).
func (n *Node) Secret() string { return n.secret }

// Report tells the failover machine that a statement on n failed with err:
// a connection-class error takes the node out of service at once, a write
// refused with 25006 makes it not writable; either asks for an immediate
// probe.
func (n *Node) Report(err error) { n.c.Report(n, err) }

// ClusterName is Options.Name of the node's cluster: "" when the handle
// holds one cluster.
func (n *Node) ClusterName() string { return n.c.opts.Name }
