// Package failbench measures how this manager and plain GORM + dbresolver
// come through the faults of the HA issue: both clients run the same load
// against the same local cluster at the same time, so they see the very same
// fault, and the results are printed as one table.
package failbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/loadgen"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// benchItem is read by the read scenarios.
type benchItem struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

// benchWrite is written by the write scenarios; no unique key, so a write
// applied twice would show.
type benchWrite struct {
	ID     uint `gorm:"primaryKey"`
	Client string
	Worker int
	Seq    int
}

const (
	workers  = 4
	interval = 5 * time.Millisecond
	seedRows = 50
)

// client is one of the two compared stacks.
type client struct {
	name  string
	db    *gorm.DB
	close func()
}

func (c *client) read(ctx context.Context, w, seq int) error {
	var it benchItem
	return c.db.WithContext(ctx).First(&it, 1+(w*31+seq)%seedRows).Error
}

func (c *client) write(ctx context.Context, w, seq int) error {
	return c.db.WithContext(ctx).Create(&benchWrite{Client: c.name, Worker: w, Seq: seq}).Error
}

// Run runs every scenario and writes the table to w.
func Run(ctx context.Context, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tclient\trequests\tfailed\trecovery\tfirst success after\tslowest\tlost writes\tnote")
	for _, s := range scenarios {
		fmt.Fprintf(w, "running: %s ...\n", s.name)
		outs, err := s.run(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		for i, name := range []string{"unifieddb", "gorm + dbresolver"} {
			o := outs[i]
			label := s.name
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", label, name, o.requests, o.failed,
				fmtRecovery(o), fmtResumed(o), o.slowest.Round(time.Millisecond), fmtLost(o.lost), o.note)
		}
	}
	return tw.Flush()
}

func fmtRecovery(o outcome) string {
	switch {
	case o.failed == 0:
		return "-"
	case o.recovery < 0:
		return "never (in run)"
	}
	return o.recovery.Round(time.Millisecond).String()
}

func fmtResumed(o outcome) string {
	if o.requests == 0 {
		return "-"
	}
	if o.resumed < 0 {
		return "none"
	}
	return o.resumed.Round(time.Millisecond).String()
}

func fmtLost(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

type scenario struct {
	name string
	run  func(ctx context.Context) ([2]outcome, error)
}

var scenarios = []scenario{
	{"replica crash, 10 s", replicaCrash},
	{"primary crash, promotion 2 s later", primaryCrash},
	{"switchover, old primary back as standby", switchover},
	{"replica hung (SIGSTOP), 10 s", replicaHung},
	{"a replica down at start-up", replicaDownAtStart},
}

// setup starts a cluster and both clients.
func setup(ctx context.Context, opts pgcluster.Options, before func(*pgcluster.Cluster) error) (*pgcluster.Cluster, [2]*client, error) {
	var cs [2]*client
	c, err := pgcluster.Start(ctx, opts)
	if err != nil {
		return nil, cs, err
	}
	if before != nil {
		if err := before(c); err != nil {
			c.Close()
			return nil, cs, err
		}
	}
	cs, err = clients(ctx, c)
	if err != nil {
		c.Close()
	}
	return c, cs, err
}

func clients(ctx context.Context, c *pgcluster.Cluster) ([2]*client, error) {
	var cs [2]*client
	cfg := testenv.Config(c)
	cfg.HealthCheckInterval = 200 * time.Millisecond
	cfg.ConnectionTimeout = 2 * time.Second
	cfg.FailoverTimeout = 10 * time.Second
	m, err := datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return cs, err
	}
	cs[0] = &client{name: "unifieddb", db: m.DB(), close: func() { m.Close() }}
	nodes := c.Nodes()
	db, err := gorm.Open(postgres.Open(nodes[0].DSN()), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		m.Close()
		return cs, err
	}
	var replicas []gorm.Dialector
	for _, n := range nodes[1:] {
		replicas = append(replicas, postgres.Open(n.DSN()))
	}
	cs[1] = &client{name: "dbresolver", db: db, close: func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}}
	if err := db.Use(dbresolver.Register(dbresolver.Config{Replicas: replicas, Policy: dbresolver.RandomPolicy{}})); err != nil {
		cs[1].db = nil
		return cs, fmt.Errorf("dbresolver: %w", err)
	}
	return cs, nil
}

func closeAll(c *pgcluster.Cluster, cs [2]*client) {
	for _, cl := range cs {
		if cl != nil {
			cl.close()
		}
	}
	c.Close()
}

func seed(ctx context.Context, c *pgcluster.Cluster, cs [2]*client) error {
	db := cs[0].db.WithContext(ctx).Clauses(datalayer.ReadWrite)
	if err := db.AutoMigrate(&benchItem{}, &benchWrite{}); err != nil {
		return err
	}
	for i := 1; i <= seedRows; i++ {
		if err := db.Create(&benchItem{Name: fmt.Sprint(i)}).Error; err != nil {
			return err
		}
	}
	return waitReplicated(ctx, c)
}

func waitReplicated(ctx context.Context, c *pgcluster.Cluster) error {
	nodes := c.Nodes()
	lsn, err := nodes[0].QueryInt(ctx, "SELECT (pg_current_wal_lsn() - '0/0')::bigint")
	if err != nil {
		return err
	}
	for _, n := range nodes[1:] {
		for n.Running() {
			ok, err := n.QueryInt(ctx, "SELECT ((pg_last_wal_replay_lsn() - '0/0')::bigint >= $1)::int", lsn)
			if err == nil && ok == 1 {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// both runs op's load for both clients while fault runs, then summarizes.
func both(cs [2]*client, write bool, fault func() (time.Time, error)) ([2]outcome, error) {
	var loads [2]*loadgen.Run
	for i, cl := range cs {
		op := cl.read
		if write {
			op = cl.write
		}
		loads[i] = loadgen.Start(context.Background(), workers, interval, op)
	}
	time.Sleep(time.Second)
	at, err := fault()
	end := time.Now()
	var outs [2]outcome
	for i, l := range loads {
		outs[i] = summarize(l.Stop(), at, end)
	}
	return outs, err
}

// seeded runs fn on a fresh cluster with both clients and the seed data,
// and closes everything afterwards.
func seeded(ctx context.Context, fn func(c *pgcluster.Cluster, cs [2]*client) ([2]outcome, error)) ([2]outcome, error) {
	c, cs, err := setup(ctx, pgcluster.DefaultOptions(), nil)
	if err != nil {
		return [2]outcome{}, err
	}
	defer closeAll(c, cs)
	if err := seed(ctx, c, cs); err != nil {
		return [2]outcome{}, err
	}
	return fn(c, cs)
}

// replicaOutage puts replica1 out with down for 10 s under read load, then
// back with up, and lets the clients settle.
func replicaOutage(ctx context.Context, down func(*pgcluster.Node) error, up func(*pgcluster.Node) error, settle time.Duration) ([2]outcome, error) {
	return seeded(ctx, func(c *pgcluster.Cluster, cs [2]*client) ([2]outcome, error) {
		r := c.Node("replica1")
		return both(cs, false, func() (time.Time, error) {
			at := time.Now()
			if err := down(r); err != nil {
				return at, err
			}
			time.Sleep(10 * time.Second)
			if err := up(r); err != nil {
				return at, err
			}
			time.Sleep(settle)
			return at, nil
		})
	})
}

func replicaCrash(ctx context.Context) ([2]outcome, error) {
	return replicaOutage(ctx, (*pgcluster.Node).Kill,
		func(r *pgcluster.Node) error { return r.Start(ctx) }, 3*time.Second)
}

func replicaHung(ctx context.Context) ([2]outcome, error) {
	return replicaOutage(ctx, (*pgcluster.Node).Pause, (*pgcluster.Node).Resume, 2*time.Second)
}

func primaryCrash(ctx context.Context) ([2]outcome, error) {
	opts := pgcluster.DefaultOptions()
	opts.SyncReplica = true
	clearSync := func(c *pgcluster.Cluster) error {
		// Once promoted, replica1 must not wait for a synchronous standby itself.
		n := c.Node("replica1")
		if err := n.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = ''"); err != nil {
			return err
		}
		return n.Exec(ctx, "SELECT pg_reload_conf()")
	}
	c, cs, err := setup(ctx, opts, clearSync)
	if err != nil {
		return [2]outcome{}, err
	}
	defer closeAll(c, cs)
	if err := seed(ctx, c, cs); err != nil {
		return [2]outcome{}, err
	}
	primary, next, other := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	var loads [2]*loadgen.Run
	for i, cl := range cs {
		loads[i] = loadgen.Start(context.Background(), workers, interval, cl.write)
	}
	time.Sleep(time.Second)
	if err := primary.Kill(); err != nil {
		return [2]outcome{}, err
	}
	time.Sleep(2 * time.Second)
	if err := next.Promote(ctx); err != nil {
		return [2]outcome{}, err
	}
	promoted := time.Now()
	if err := other.Repoint(ctx, next); err != nil {
		return [2]outcome{}, err
	}
	time.Sleep(3 * time.Second)
	end := time.Now()
	var outs [2]outcome
	for i, l := range loads {
		rs := l.Stop()
		outs[i] = summarize(rs, promoted, end)
		lost, err := lostWrites(ctx, next, cs[i].name, rs)
		if err != nil {
			return outs, err
		}
		outs[i].lost = lost
	}
	outs[0].note = "times from the promotion"
	outs[1].note = "times from the promotion"
	return outs, nil
}

func switchover(ctx context.Context) ([2]outcome, error) {
	return seeded(ctx, func(c *pgcluster.Cluster, cs [2]*client) ([2]outcome, error) {
		old, next, other := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
		return both(cs, true, func() (time.Time, error) {
			at := time.Now()
			if err := old.Stop(ctx); err != nil {
				return at, err
			}
			if err := next.Promote(ctx); err != nil {
				return at, err
			}
			if err := old.Repoint(ctx, next); err != nil {
				return at, err
			}
			if err := other.Repoint(ctx, next); err != nil {
				return at, err
			}
			time.Sleep(3 * time.Second)
			return at, nil
		})
	})
}

func replicaDownAtStart(ctx context.Context) ([2]outcome, error) {
	c, cs, err := setup(ctx, pgcluster.DefaultOptions(), nil)
	if err != nil {
		return [2]outcome{}, err
	}
	defer c.Close()
	err = seed(ctx, c, cs)
	for _, cl := range cs {
		cl.close()
	}
	if err != nil {
		return [2]outcome{}, err
	}
	r := c.Node("replica1")
	if err := r.Stop(ctx); err != nil {
		return [2]outcome{}, err
	}
	// Both clients start while replica1 is down; it comes back 3 s later.
	cs, cerr := clients(ctx, c)
	defer func() {
		for _, cl := range cs {
			if cl != nil {
				cl.close()
			}
		}
	}()
	var outs [2]outcome
	var loads [2]*loadgen.Run
	for i, cl := range cs {
		if cl == nil || cl.db == nil {
			outs[i] = outcome{lost: -1, note: "start-up failed: " + firstLine(cerr)}
			continue
		}
		loads[i] = loadgen.Start(context.Background(), workers, interval, cl.read)
	}
	time.Sleep(3 * time.Second)
	back := time.Now()
	if err := r.Start(ctx); err != nil {
		return outs, err
	}
	time.Sleep(4 * time.Second)
	for i, l := range loads {
		if l != nil {
			outs[i] = summarize(l.Stop(), back, time.Now())
		}
	}
	return outs, nil
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60] + "..."
	}
	return msg
}

// lostWrites counts the client's acknowledged writes missing on n.
func lostWrites(ctx context.Context, n *pgcluster.Node, name string, rs []loadgen.Result) (int, error) {
	db, err := gorm.Open(postgres.Open(n.DSN()), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return 0, err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	var rows []benchWrite
	if err := db.WithContext(ctx).Where("client = ?", name).Find(&rows).Error; err != nil {
		return 0, err
	}
	have := map[[2]int]bool{}
	for _, r := range rows {
		have[[2]int{r.Worker, r.Seq}] = true
	}
	lost := 0
	for _, r := range rs {
		if r.Err == nil && !have[[2]int{r.Worker, r.Seq}] {
			lost++
		}
	}
	return lost, nil
}
