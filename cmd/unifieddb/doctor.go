package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/prompt-improver/unifieddb/datalayer"
)

const doctorDescription = `
Check a live configuration, one line per check:

  ok|warn|fail  <check>  <detail>

config        the file is valid (warnings: unknown keys)
ready         a primary answers within --wait; fail names each node's
              last error, at once for a fault waiting cannot cure (wrong
              password, unknown database, TLS refusal, unknown host)
discovery     where the node list came from (discovery: static, patroni,
              dns), when it was last refreshed; warn when the last lookup
              failed (the known nodes still serve)
node <addr>   every node answers a probe (fail when one does not)
roles         exactly one primary, no split brain
commits       no commit is stalled waiting on a synchronous standby (fail
              names the node and how many wait: the standby is stopped,
              hung or unreachable while synchronous_standby_names
              requires it)
lag <addr>    each replica's replication lag is under max_replication_lag
server        the primary's PostgreSQL version; warn when older than 14,
              the oldest the project is tested on
connections   the connections of one instance, per node: every pool a
              node may use at its maximum, (pool_size+max_overflow)*2
              (write, read) + batch_pool_size + transactional_pool_size
              + 1 probe, against the primary's max_connections (replicas
              must allow at least as many) minus
              superuser_reserved_connections and reserved_connections
              (16+); says how many instances fit. With --instances N:
              fail when N instances do not fit. Without: warn when 4
              would not fit, fail when 1 does not
tables        every registered model has its table
migrations    no SQL migration of migrations_dir is pending
registry      no two models map to one table

With several clusters (clusters: in the configuration), each named
cluster's node, roles, commits, lag, connections and migrations checks follow,
prefixed "cluster NAME: ".

Exit status: 0 no fail (warnings allowed), 1 any fail, 2 usage error.`

// finding is one line of the doctor's report.
type finding struct {
	Status string `json:"status"` // ok, warn or fail
	Check  string `json:"check"`
	Detail string `json:"detail"`
}

type doctor struct {
	s    *session
	wait time.Duration // --wait
	// instances: --instances, how many instances (Managers with this
	// configuration) the cluster must hold; 0: not given.
	instances int
	readyErr  error // why no primary answered within --wait (nil: one did, or no wait)
	findings  []finding
}

func (d *doctor) add(status, check, format string, args ...any) {
	d.findings = append(d.findings, finding{Status: status, Check: check, Detail: oneLine(fmt.Sprintf(format, args...))})
}

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("doctor", "", doctorDescription)
	var lf liveFlags
	lf.register(fs, true, 60*time.Second)
	instances := fs.Int("instances", 0, "the `N` instances (services with this configuration) the cluster must hold: the connections check fails when they do not fit")
	s, code := lf.start(ctx, fs, args, stdout, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	if *instances < 0 {
		return usageError(fs, stderr, "--instances must be >= 0")
	}
	d := &doctor{s: s, wait: lf.wait, instances: *instances}
	d.run(lf.config)

	failed := false
	for _, f := range d.findings {
		failed = failed || f.Status == "fail"
	}
	if lf.json {
		printJSON(s.stdout, d.findings)
	} else {
		width := 0
		for _, f := range d.findings {
			width = max(width, len(f.Check))
		}
		for _, f := range d.findings {
			fmt.Fprintf(s.stdout, "%-4s  %-*s  %s\n", f.Status, width, f.Check, f.Detail)
		}
	}
	if failed {
		return exitFail
	}
	return exitOK
}

func (d *doctor) run(path string) {
	cfg, m, ctx := d.s.cfg, d.s.m, d.s.ctx
	if len(cfg.Warnings) > 0 {
		d.add("warn", "config", "%s: valid, with warnings: %s", path, strings.Join(cfg.Warnings, "; "))
	} else {
		d.add("ok", "config", "%s: valid, %d node(s)", path, len(cfg.Nodes()))
	}

	d.ready()
	rep, err := m.HealthCheck(ctx, datalayer.Fresh())
	if err != nil {
		d.add("fail", "nodes", "no health report: %v", err)
		return
	}
	d.discovery(rep)
	d.nodes("", cfg, rep, d.readyErr)
	if rep.Primary == "" {
		d.add("fail", "server", "no primary to ask its version")
		d.add("fail", "connections", "no primary to read max_connections from")
		d.add("fail", "tables", "no primary to check")
		d.add("fail", "migrations", "no primary to check")
	} else {
		d.server(ctx)
		d.connections(ctx, "", cfg, nil)
		d.tables(ctx)
		d.migrations(ctx)
	}
	d.clusters(ctx, rep)
	if len(rep.RegistryConflicts) == 0 {
		d.add("ok", "registry", "%d model(s), no conflict", len(m.Registry().Tables()))
	}
	for _, c := range rep.RegistryConflicts {
		d.add("warn", "registry", "table %s: kept %s, rejected %s", c.Table, c.Kept, c.Rejected)
	}
}

// nodes checks one cluster's nodes, roles, commits and lag; prefix
// names the cluster in each check ("" for the default one).
func (d *doctor) nodes(prefix string, cfg datalayer.Config, rep datalayer.HealthReport, readyErr error) {
	primaries := 0
	for _, n := range rep.Nodes {
		check := prefix + "node " + n.Name
		switch {
		case !n.Healthy && n.Error != "":
			d.add("fail", check, "unreachable: %s", n.Error)
		case !n.Healthy:
			d.add("fail", check, "not in service")
		default:
			d.add("ok", check, "%s, probe %s", n.Role, msText(n.LatencyMs))
		}
		if n.Healthy && n.Role == "primary" {
			primaries++
		}
	}
	switch {
	case primaries == 1 && !rep.SplitBrain:
		d.add("ok", prefix+"roles", "one primary (%s), %d other node(s)", rep.Primary, len(rep.Nodes)-1)
	case primaries == 0 && permanent(readyErr):
		d.add("fail", prefix+"roles", "no primary: every node has a fault waiting cannot cure (see ready): writes fail at once")
	case primaries == 0:
		d.add("fail", prefix+"roles", "no primary: writes fail after failover_timeout (%s)", cfg.FailoverTimeout)
	default:
		d.add("fail", prefix+"roles", "%d nodes accept writes (split brain); writes go to %s", primaries, rep.Primary)
	}
	d.commits(prefix, rep)
	for _, n := range rep.Nodes {
		if !n.Healthy || n.Role != "replica" {
			continue
		}
		lag := time.Duration(n.ReplicationLagMs * float64(time.Millisecond))
		switch {
		case cfg.MaxReplicationLag > 0 && lag > cfg.MaxReplicationLag:
			d.add("warn", prefix+"lag "+n.Name, "%s behind (%d bytes), over max_replication_lag %s: out of read rotation", lag.Round(time.Millisecond), n.ReplicationLagBytes, cfg.MaxReplicationLag)
		default:
			d.add("ok", prefix+"lag "+n.Name, "%s behind (%d bytes), max %s", lag.Round(time.Millisecond), n.ReplicationLagBytes, maxLagText(cfg.MaxReplicationLag))
		}
	}
}

// ready waits up to --wait for a primary and names the cause when none
// comes: each node's last error, at once for a fault waiting cannot cure.
func (d *doctor) ready() {
	if d.wait <= 0 {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(d.s.ctx, d.wait)
	defer cancel()
	if err := readyWithin(ctx, d.s.ctx, d.s.m, d.wait); err != nil {
		d.readyErr = err
		d.add("fail", "ready", "%v", err)
		return
	}
	d.add("ok", "ready", "a primary answered within %s", time.Since(start).Round(time.Millisecond))
}

// permanent reports an error of a fault waiting cannot cure on every node
// (wrong password, unknown database...): calls fail at once.
func permanent(err error) bool {
	var u *datalayer.UnavailableError
	return errors.As(err, &u) && u.Permanent
}

// commits names the nodes whose commits wait on a synchronous standby.
func (d *doctor) commits(prefix string, rep datalayer.HealthReport) {
	stalled := false
	for _, n := range rep.Nodes {
		if n.SyncRepStalled {
			stalled = true
			d.add("fail", prefix+"commits", "%d commits waiting on synchronous standby on %s (longest %s): writes stall until the standby confirms or synchronous_standby_names changes",
				n.SyncRepWaiting, n.Name, msText(n.SyncRepLongestWaitMs))
		}
	}
	if !stalled && rep.Primary != "" {
		d.add("ok", prefix+"commits", "no commit waits on a synchronous standby")
	}
}

func maxLagText(d time.Duration) string {
	if d == 0 {
		return "unlimited"
	}
	return d.String()
}

// connections checks the connection budget of one cluster (cfg) against
// its primary's max_connections; on: the clause that sends the query to
// that cluster (nil: the default one), prefix names it in the check.
func (d *doctor) connections(ctx context.Context, prefix string, cfg datalayer.Config, on clause.Expression) {
	check := prefix + "connections"
	var limits struct {
		Max, Superuser, Reserved, InUse int
	}
	db := d.s.m.Conn(ctx, datalayer.ReadWrite)
	if on != nil {
		db = db.Clauses(on)
	}
	err := db.Raw(`SELECT
  current_setting('max_connections')::int AS max,
  current_setting('superuser_reserved_connections')::int AS superuser,
  COALESCE(NULLIF(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use`).Scan(&limits).Error
	if err != nil {
		d.add("fail", check, "reading max_connections: %v", err)
		return
	}
	b := cfg.ConnectionBudget()
	avail := limits.Max - limits.Superuser - limits.Reserved
	fit := b.Fit(avail)
	detail := fmt.Sprintf("one instance needs up to %d per node ((%d+%d)*2 + %d + %d + 1 probe); max_connections %d, %d usable (%d superuser_reserved, %d reserved), %d in use now; %d instance(s) fit",
		b.PerNode, cfg.PoolSize, cfg.MaxOverflow, cfg.BatchPoolSize, cfg.TransactionalPoolSize, limits.Max, avail, limits.Superuser, limits.Reserved, limits.InUse, fit)
	if b.Migration > 0 {
		detail += fmt.Sprintf(" (migration_host takes %d more while the SQL migrations run)", b.Migration)
	}
	switch n := d.instances; {
	case n > 0 && fit < n:
		d.add("fail", check, "%s: %d instances need %d per node, %d over", detail, n, n*b.PerNode, n*b.PerNode-avail)
	case n > 0:
		d.add("ok", check, "%s: %d instances need %d per node", detail, n, n*b.PerNode)
	case fit < 1:
		d.add("fail", check, "%s", detail)
	case fit < 4:
		d.add("warn", check, "%s: 4 instances would need %d", detail, 4*b.PerNode)
	default:
		d.add("ok", check, "%s", detail)
	}
}

func (d *doctor) tables(ctx context.Context) {
	tables := d.s.m.Registry().Tables()
	if len(tables) == 0 {
		d.add("ok", "tables", "no registered model to check (the tool knows no Go model)")
		return
	}
	var missing []string
	for _, t := range tables {
		var exists bool
		if err := d.s.m.Conn(ctx, datalayer.ReadWrite).Raw("SELECT to_regclass(?) IS NOT NULL", t).Scan(&exists).Error; err != nil {
			d.add("fail", "tables", "checking %s: %v", t, err)
			return
		}
		if !exists {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		d.add("warn", "tables", "%d of %d registered model(s) have no table: %s; run `unifieddb migrate up`", len(missing), len(tables), strings.Join(missing, ", "))
		return
	}
	d.add("ok", "tables", "all %d registered model(s) have their table", len(tables))
}

func (d *doctor) migrations(ctx context.Context) {
	d.migrationsOn(ctx, "", datalayer.DefaultCluster, d.s.m.Config().MigrationsDir)
}

// migrationsOn checks that no SQL migration of a cluster's migrations_dir
// (dir) is pending; its check is named with prefix.
func (d *doctor) migrationsOn(ctx context.Context, prefix, cluster, dir string) {
	check := prefix + "migrations"
	if dir == "" {
		key := "migrations_dir"
		if cluster != datalayer.DefaultCluster {
			key = "clusters." + cluster + "." + key
		}
		d.add("ok", check, "none to check: %s is not set", key)
		return
	}
	r, err := d.s.m.MigrationsOn(cluster)
	if err != nil {
		d.add("fail", check, "%v", err)
		return
	}
	defer r.Close()
	st, err := r.Status(ctx)
	if err != nil {
		d.add("fail", check, "%v", err)
		return
	}
	var pending []string
	for _, s := range st {
		if !s.Applied {
			pending = append(pending, s.Source)
		}
	}
	if len(pending) > 0 {
		d.add("warn", check, "%d of %d pending: %s; run `unifieddb migrate up`", len(pending), len(st), strings.Join(pending, ", "))
		return
	}
	d.add("ok", check, "all %d applied", len(st))
}
